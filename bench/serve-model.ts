import { pino } from 'pino'
import { loadConfig } from '../src/config/index.js'
import { createCarafe, loadAll } from '../src/http/index.js'
import type { BatchPolicy } from '../src/model/index.js'

/** One model served on a random port with logging off, loaded and warmed up; `batch` replaces its own policy. */
export async function serveModel(
  path: string,
  batch?: BatchPolicy,
): Promise<{ name: string; url: string; close(): Promise<unknown> }> {
  const [descriptor] = await loadAll([path])
  if (batch) descriptor.batch = batch
  const server = await createCarafe({
    descriptors: [descriptor],
    config: loadConfig({ flags: { port: 0 } }),
    logger: pino({ level: 'silent' }),
  })
  const url = await server.listen()
  await server.started
  return { name: descriptor.name, url, close: () => server.close() }
}
