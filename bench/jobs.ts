import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import { loadConfig } from '../src/config/index.js'
import { createCarafe, loadAll } from '../src/http/index.js'
import type { JobClientsResult, JobMode } from './job-clients.js'

const JOBS = 2000
const CLIENTS = 32
const POLL_MS = 5
const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..')
const IRIS = join(ROOT, 'examples', 'iris')

export type JobRow = { store: string } & JobClientsResult

/**
 * 2,000 iris jobs, 32 clients each submit → wait for the end → next; jobs/s and p50/p99 completion. Embedded: polling
 * every 5 ms, `Prefer: wait`, and the event stream; Redis (when it answers): polling and `Prefer: wait`, with the
 * server's own runner and then one `carafe worker` process beside it.
 */
export async function benchJobs(record: (row: JobRow) => void = (row) => console.log(row)): Promise<void> {
  await benchEmbedded(record)
  const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 })
  const redisUp = await redis
    .connect()
    .then(() => redis.ping())
    .then(
      () => true,
      () => false,
    )
  redis.disconnect()
  if (redisUp) for (const workers of [1, 2]) await benchRedis(workers, record)
  else console.error('REDIS NOT AVAILABLE on 127.0.0.1:6379: Redis rows skipped')
}

/** The server's own runner is worker 1; each further worker is a `carafe worker` process on the same queue. */
async function benchRedis(workers: number, record: (row: JobRow) => void) {
  const prefix = `carafe-bench-${randomUUID()}`
  const jobs = `redis://127.0.0.1:6379?prefix=${prefix}`
  const config = loadConfig({ flags: { port: 0, jobs, logLevel: 'silent' } })
  const carafe = await createCarafe({ descriptors: await loadAll([IRIS]), config, logger: pino({ level: 'silent' }) })
  const url = await carafe.listen()
  await carafe.started
  const extra = Array.from({ length: workers - 1 }, () =>
    spawn(process.execPath, [join(ROOT, 'bin', 'carafe.js'), 'worker', IRIS, '--jobs', jobs], {
      stdio: 'ignore',
      env: { ...process.env, CARAFE_LOG_LEVEL: 'silent' },
    }),
  )
  try {
    const store = `redis, ${workers === 1 ? 'server only' : `server + ${workers - 1} worker`}`
    for (const mode of ['poll', 'wait'] as const)
      record({ store: `${store}, ${MODES[mode]}`, ...(await drive(url, mode)) })
  } finally {
    for (const child of extra) child.kill('SIGTERM')
    await carafe.close()
    const redis = new Redis({ host: '127.0.0.1', port: 6379 })
    const keys = await redis.keys(`${prefix}:*`)
    if (keys.length) await redis.del(...keys)
    redis.disconnect()
  }
}

const MODES: Record<JobMode, string> = { poll: 'poll 5 ms', wait: 'Prefer: wait', sse: 'event stream' }

async function benchEmbedded(record: (row: JobRow) => void) {
  const dataDir = await mkdtemp(join(tmpdir(), 'carafe-bench-jobs-'))
  const config = loadConfig({ flags: { port: 0, dataDir, logLevel: 'silent' } })
  const carafe = await createCarafe({ descriptors: await loadAll([IRIS]), config, logger: pino({ level: 'silent' }) })
  const url = await carafe.listen()
  await carafe.started
  try {
    for (const mode of ['poll', 'wait', 'sse'] as const)
      record({ store: `embedded, ${MODES[mode]}`, ...(await drive(url, mode)) })
  } finally {
    await carafe.close()
    await rm(dataDir, { recursive: true, force: true })
  }
}

/** The clients run in their own process (bench/job-clients.ts), as the sync bench's load client runs in its own. */
function drive(url: string, mode: JobMode): Promise<JobClientsResult> {
  return runJobClients(url, JOBS, CLIENTS, POLL_MS, mode)
}

/** `jobs` jobs submitted and awaited by `clients` clients in a child process; its JSON result. */
export function runJobClients(
  url: string,
  jobs: number,
  clients: number,
  pollMs: number,
  mode: JobMode,
): Promise<JobClientsResult> {
  const script = fileURLToPath(new URL('./job-clients.js', import.meta.url))
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, url, String(jobs), String(clients), String(pollMs), mode], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.on('exit', (code) => {
      try {
        resolve(JSON.parse(out) as JobClientsResult)
      } catch {
        reject(new Error(`job clients exited ${code} without a result`))
      }
    })
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchJobs()
