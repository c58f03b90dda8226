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
import type { JobClientsResult } from './job-clients.js'

const JOBS = 2000
const CLIENTS = 32
const POLL_MS = 5
const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..')
const IRIS = join(ROOT, 'examples', 'iris')

/** 2,000 iris jobs, 32 clients each submit → poll every 5 ms → next; prints jobs/s and p50/p99 completion. */
export async function benchJobs(): Promise<void> {
  const rows = [await benchEmbedded()]
  const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 })
  const redisUp = await redis
    .connect()
    .then(() => redis.ping())
    .then(
      () => true,
      () => false,
    )
  redis.disconnect()
  if (redisUp) for (const workers of [1, 2]) rows.push(await benchRedis(workers))
  console.log('\njobs (2,000 iris jobs, 32 clients, poll every 5 ms)')
  console.table(rows)
  if (!redisUp) console.log('REDIS NOT AVAILABLE on 127.0.0.1:6379: Redis rows skipped')
}

/** The server's own runner is worker 1; each further worker is a `carafe worker` process on the same queue. */
async function benchRedis(workers: number) {
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
    return { store: `redis, ${workers} worker${workers > 1 ? 's' : ''}`, ...(await drive(url)) }
  } finally {
    for (const child of extra) child.kill('SIGTERM')
    await carafe.close()
    const redis = new Redis({ host: '127.0.0.1', port: 6379 })
    const keys = await redis.keys(`${prefix}:*`)
    if (keys.length) await redis.del(...keys)
    redis.disconnect()
  }
}

async function benchEmbedded() {
  const dataDir = await mkdtemp(join(tmpdir(), 'carafe-bench-jobs-'))
  const config = loadConfig({ flags: { port: 0, dataDir, logLevel: 'silent' } })
  const carafe = await createCarafe({ descriptors: await loadAll([IRIS]), config, logger: pino({ level: 'silent' }) })
  const url = await carafe.listen()
  await carafe.started
  try {
    return { store: 'embedded (fsync group commit)', ...(await drive(url)) }
  } finally {
    await carafe.close()
    await rm(dataDir, { recursive: true, force: true })
  }
}

/** The clients run in their own process (bench/job-clients.ts), as autocannon does for the sync bench. */
function drive(url: string): Promise<JobClientsResult> {
  const script = fileURLToPath(new URL('./job-clients.js', import.meta.url))
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, url, String(JOBS), String(CLIENTS), String(POLL_MS)], {
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
