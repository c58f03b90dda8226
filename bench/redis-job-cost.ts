// What one Redis job costs: a private redis-server (no persistence) on a free port, one `carafe serve` process with
// its own runner beside it, the job bench's 32 polling clients in their own process. Prints jobs/s, p50/p99, Redis
// commands per job (INFO commandstats before and after, counting those run inside Lua scripts), and the server's CPU
// per job: its main thread alone (utime + stime of /proc/<pid>/task/<pid>/stat, so preemption by other processes does
// not count) and the whole process.
// Usage: node dist/bench/redis-job-cost.js [carafe root (default: this checkout)] [jobs (2000)] [rounds (1)]
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { freePort } from '../test/helpers/redis-server.js'
import { runJobClients } from './jobs.js'

const HERE = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..')
const CLIENTS = 32
const POLL_MS = 5
const WARMUP = 200

const [rootArg, jobsArg, roundsArg] = process.argv.slice(2)
const root = rootArg ?? HERE
const jobs = Number(jobsArg ?? 2000)
const rounds = Number(roundsArg ?? 1)

/** utime + stime in clock ticks (1/100 s): fields 14 and 15 after the parenthesised command name. */
function ticks(path: string): number {
  const fields = readFileSync(path, 'utf8').split(') ')[1]!.split(' ')
  return Number(fields[11]) + Number(fields[12])
}

async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const calls = new Map<string, number>()
  for (const line of (await redis.info('commandstats')).split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line)
    if (match) calls.set(match[1]!, Number(match[2]))
  }
  return calls
}

const clients = (url: string, count: number) => runJobClients(url, count, CLIENTS, POLL_MS, 'poll')

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (
      await check().catch((error: Error) => {
        if (error.message.startsWith('carafe serve exited')) throw error
        return false
      })
    )
      return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`gave up waiting for ${what}`)
}

const redisPort = await freePort()
const dir = mkdtempSync(join(tmpdir(), 'carafe-cost-redis-'))
const children: ChildProcess[] = []
const redisServer = spawn(
  'redis-server',
  ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--dir', dir],
  {
    stdio: 'ignore',
  },
)
children.push(redisServer)
const redis = new Redis(redisPort, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 })
redis.on('error', () => undefined)
try {
  await until('redis-server', async () => {
    if (redis.status !== 'ready') await redis.connect()
    return (await redis.ping()) === 'PONG'
  })
  for (let round = 0; round < rounds; round++) {
    const port = await freePort()
    const server = spawn(
      process.execPath,
      [join(root, 'bin', 'carafe.js'), 'serve', join(root, 'examples', 'iris'), '--port', String(port)],
      {
        stdio: 'ignore',
        env: {
          ...process.env,
          CARAFE_LOG_LEVEL: 'silent',
          CARAFE_JOBS: `redis://127.0.0.1:${redisPort}?prefix=cost${round}`,
        },
      },
    )
    children.push(server)
    const url = `http://127.0.0.1:${port}`
    try {
      await until('the server', async () => {
        if (server.exitCode !== null) throw new Error(`carafe serve exited with ${server.exitCode}`)
        return (await fetch(`${url}/readyz`)).ok
      })
      await clients(url, WARMUP)
      const before = await commandCalls(redis)
      const main = `/proc/${server.pid}/task/${server.pid}/stat`
      const whole = `/proc/${server.pid}/stat`
      const [main0, whole0] = [ticks(main), ticks(whole)]
      const result = await clients(url, jobs)
      const [main1, whole1] = [ticks(main), ticks(whole)]
      const after = await commandCalls(redis)
      const perJob: Record<string, number> = {}
      let total = 0
      for (const [name, calls] of after) {
        const n = calls - (before.get(name) ?? 0)
        if (name === 'info') continue
        total += n
        if (n / jobs >= 0.05) perJob[name] = Math.round((n / jobs) * 10) / 10
      }
      console.log(
        JSON.stringify({
          ...result,
          'commands/job': Math.round((total / jobs) * 10) / 10,
          'main-thread µs/job': Math.round(((main1 - main0) * 10_000) / result.jobs),
          'process µs/job': Math.round(((whole1 - whole0) * 10_000) / result.jobs),
          perJob,
        }),
      )
    } finally {
      if (server.exitCode === null && server.signalCode === null) {
        const exited = new Promise((resolve) => server.once('exit', resolve))
        server.kill('SIGTERM')
        await exited
      }
    }
  }
} finally {
  redis.disconnect()
  redisServer.kill('SIGTERM')
  rmSync(dir, { recursive: true, force: true })
}
