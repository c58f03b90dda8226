import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { TestContext } from 'node:test'
import { CLI } from './paths.js'

/** Run the real CLI to completion (bounded) and collect its output. */
export function runCli(
  args: string[],
  { env = {}, timeoutMs = 30_000 } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

export interface ServeProcess {
  child: ChildProcess
  /** The URL from the server's "ready" log line. */
  url: string
  /** Every JSON log line the server wrote to stdout so far, parsed. */
  logs: Record<string, unknown>[]
  /** Resolves with the first log line that matches (bounded: rejects after `timeoutMs`). */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>
  /** The exit code, once the process ends. */
  exited: Promise<number | null>
}

/** `carafe serve <args>` as a real child process, resolved once it logs "ready"; SIGKILLed after the test if still running. */
export async function spawnServe(
  args: string[],
  t: Pick<TestContext, 'after'>,
  { env = {} }: { env?: Record<string, string> } = {},
): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') // only our own child, by its handle
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const logs: Record<string, unknown>[] = []
  const waiters = new Set<{
    match: (line: Record<string, unknown>) => boolean
    resolve: (line: Record<string, unknown>) => void
  }>()
  createInterface({ input: child.stdout! }).on('line', (text) => {
    const line = JSON.parse(text) as Record<string, unknown>
    logs.push(line)
    for (const waiter of waiters) if (waiter.match(line)) waiter.resolve(line)
  })
  const waitForLog = (match: (line: Record<string, unknown>) => boolean, timeoutMs = 30_000) => {
    const seen = logs.find(match)
    if (seen) return Promise.resolve(seen)
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const waiter = { match, resolve: (line: Record<string, unknown>) => finish(() => resolve(line)) }
      const finish = (fn: () => void) => {
        clearTimeout(timer)
        waiters.delete(waiter)
        fn()
      }
      const timer = setTimeout(
        () => finish(() => reject(new Error(`no matching log line within ${timeoutMs} ms`))),
        timeoutMs,
      )
      waiters.add(waiter)
      exited.then((code) => finish(() => reject(new Error(`carafe serve exited (${code}) before the log line`))))
    })
  }
  const ready = await Promise.race([
    waitForLog((line) => line.msg === 'ready'),
    exited.then((code) => {
      throw new Error(`carafe serve exited with ${code} before ready`)
    }),
  ])
  return { child, url: ready.url as string, logs, waitForLog, exited }
}
