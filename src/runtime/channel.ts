import { fork } from 'node:child_process'
import { Worker } from 'node:worker_threads'
import type { FromWorker, ToWorker } from './protocol.js'

/** The pipe to one running copy of the model, whether a worker thread or a child process. */
export interface RunnerChannel {
  /** `transfer`: buffers handed over to a worker thread without a copy (a child process gets a copy). */
  post(message: ToWorker, transfer?: ArrayBuffer[]): void
  onMessage(fn: (message: FromWorker) => void): void
  onError(fn: (error: Error) => void): void
  onExit(fn: (code: number | null) => void): void
  /** Stop it now, even mid-computation (a spinning handler never yields). */
  kill(): Promise<void>
}

export type Isolation = 'thread' | 'process'

export interface SpawnOptions {
  isolation?: Isolation
  /** Heap limit of the model's V8 isolate; past it the runner dies (RUNNER_CRASHED), not the server. */
  maxMemoryMb?: number
}

export function spawnRunner({ isolation = 'thread', maxMemoryMb }: SpawnOptions): RunnerChannel {
  return isolation === 'process' ? spawnProcess(maxMemoryMb) : spawnThread(maxMemoryMb)
}

function spawnThread(maxMemoryMb?: number): RunnerChannel {
  const worker = new Worker(
    new URL('./worker-entry.js', import.meta.url),
    maxMemoryMb ? { resourceLimits: { maxOldGenerationSizeMb: maxMemoryMb } } : {},
  )
  return {
    post: (message, transfer) => worker.postMessage(message, transfer),
    onMessage: (fn) => worker.on('message', fn),
    onError: (fn) => worker.on('error', fn),
    onExit: (fn) => worker.on('exit', fn),
    kill: async () => void (await worker.terminate()),
  }
}

function spawnProcess(maxMemoryMb?: number): RunnerChannel {
  // 'advanced' serialization is structured clone, the same as worker threads: typed arrays cross intact.
  const child = fork(new URL('./process-entry.js', import.meta.url), [], {
    serialization: 'advanced',
    execArgv: maxMemoryMb ? [`--max-old-space-size=${maxMemoryMb}`] : [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  let exited = false
  child.on('exit', () => (exited = true))
  return {
    post: (message) => {
      if (child.connected) child.send(message)
    },
    onMessage: (fn) => child.on('message', (message) => fn(message as FromWorker)),
    onError: (fn) => child.on('error', fn),
    onExit: (fn) => child.on('exit', (code) => fn(code)),
    kill: () =>
      new Promise((resolve) => {
        if (exited) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGKILL')
      }),
  }
}
