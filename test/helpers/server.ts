import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { TestContext } from 'node:test'
import { pino } from 'pino'
import { loadConfig, type Config } from '../../src/config/index.js'
import { createCarafe, loadAll, type Carafe } from '../../src/http/index.js'
import type { ModelDescriptor } from '../../src/model/index.js'

export interface TestServer {
  url: string
  carafe: Carafe
  /** Every JSON log line the server wrote, parsed. */
  logs: Record<string, unknown>[]
  close(): Promise<void>
}

/**
 * A real server on a random port of 127.0.0.1, with its logs collected. Closed after the test when `t` is given.
 * `waitReady: false` returns as soon as it listens, before models load.
 */
export async function startServer(
  paths: string | string[] | ModelDescriptor[],
  {
    t,
    config = {},
    waitReady = true,
  }: { t?: Pick<TestContext, 'after'>; config?: Partial<Config>; waitReady?: boolean } = {},
): Promise<TestServer> {
  const logs: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line))
      done()
    },
  })
  const logger = pino({ level: 'info' }, sink)
  const list = Array.isArray(paths) ? paths : [paths]
  const descriptors = typeof list[0] === 'string' ? await loadAll(list as string[]) : (list as ModelDescriptor[])
  // each server gets its own job store, so test files running at once never share a jobs log
  const dataDir = config.dataDir ?? mkdtempSync(join(tmpdir(), 'carafe-data-'))
  const carafe = await createCarafe({
    descriptors,
    config: loadConfig({ flags: { port: 0, ...config, dataDir } }),
    logger,
    paths: typeof list[0] === 'string' ? (list as string[]) : undefined,
  })
  const url = await carafe.listen()
  const close = async () => {
    await carafe.close().finally(() => {
      if (!config.dataDir) rmSync(dataDir, { recursive: true, force: true })
    })
  }
  t?.after(close)
  // a model that cannot start must not leave a listening server behind (the test file would never end)
  if (waitReady)
    await carafe.started.catch(async (error) => {
      await close()
      throw error
    })
  return { url, carafe, logs, close }
}

/** POST JSON (or a raw string/Buffer body with its own content type) and read the answer as JSON when it is. */
export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Headers; text: string }> {
  const raw = typeof body === 'string' || body instanceof Uint8Array
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...(raw ? {} : { 'content-type': 'application/json' }), ...headers },
    body: raw ? (body as string) : JSON.stringify(body),
  })
  return read(response)
}

export async function get(url: string, headers: Record<string, string> = {}) {
  return read(await fetch(url, { headers }))
}

async function read(response: Response) {
  const text = await response.text()
  let body: any
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  return { status: response.status, body, headers: response.headers, text }
}

/** An error answer must be our envelope and carry no stack trace or file path. */
export function assertNoStack(text: string): void {
  for (const leak of ['    at ', '.ts:', '.js:', 'node_modules', 'Error:']) {
    if (text.includes(leak))
      throw new Error(`response leaks internals (${JSON.stringify(leak)}): ${text.slice(0, 300)}`)
  }
}
