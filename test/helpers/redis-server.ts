import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'

/** Why no private redis-server can be started here, or undefined when the binary is installed. */
export function redisServerMissing(): string | undefined {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' })
    return undefined
  } catch (error) {
    return `redis-server is not installed (${(error as Error).message.split('\n')[0]})`
  }
}

/** The skip reason for a test that needs its own redis-server, printed as a banner so a skip is never silent. */
export function loudSkipServer(what: string, missing: string): string {
  const reason = `REDIS-SERVER NOT AVAILABLE: skipping ${what} (${missing})`
  console.log(`\n${'!'.repeat(reason.length)}\n${reason}\n${'!'.repeat(reason.length)}\n`)
  return reason
}

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

export interface PrivateRedis {
  port: number
  url: string
  /** Start (again) on the same port and data dir; resolves once PING answers. */
  start(): Promise<void>
  /** SIGTERM by PID and wait for the exit: an outage. Its append-only file keeps the data for the next start. */
  stop(): Promise<void>
}

/**
 * A redis-server of our own on a free port of 127.0.0.1 (never the shared one), its data in a temporary directory with
 * an fsynced append-only file, so a stop and start is an outage that loses nothing. Stopped and removed after the test.
 */
export async function privateRedis(t: { after(fn: () => Promise<void>): void }, port?: number): Promise<PrivateRedis> {
  const chosen = port ?? (await freePort())
  const dir = mkdtempSync(join(tmpdir(), 'carafe-redis-'))
  let child: ChildProcess | undefined
  const args = ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes']
  const server: PrivateRedis = {
    port: chosen,
    url: `redis://127.0.0.1:${chosen}/0`,
    async start() {
      child = spawn('redis-server', [...args, '--appendfsync', 'always', '--dir', dir], { stdio: 'ignore' })
      const probe = new Redis(chosen, '127.0.0.1', {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      })
      probe.on('error', () => undefined) // refused until the server listens; the loop below tries again
      try {
        for (let i = 0; i < 200; i++) {
          if (child.exitCode !== null)
            throw new Error(`redis-server exited with ${child.exitCode} (port ${chosen} taken?)`)
          const pong = await probe
            .connect()
            .then(() => probe.ping())
            .catch(() => undefined)
          if (pong === 'PONG') return
          probe.disconnect()
          await new Promise((resolve) => setTimeout(resolve, 25))
        }
        throw new Error('redis-server did not answer PING within 5 s')
      } finally {
        probe.disconnect()
      }
    },
    async stop() {
      const running = child
      if (!running || running.exitCode !== null || running.signalCode !== null) return
      const exited = new Promise((resolve) => running.once('exit', resolve))
      running.kill('SIGTERM') // our own child, by its handle
      await exited
    },
  }
  t.after(async () => {
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  return server
}
