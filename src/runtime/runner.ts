import { Worker } from 'node:worker_threads'
import { CarafeError } from '../errors.js'
import type { Logger, ModelDescriptor } from '../model/index.js'
import { answerCall } from './answer-call.js'
import type { FromWorker, ModelCaller, RunnerOptions, ToWorker } from './protocol.js'

export type RunnerState = 'starting' | 'ready' | 'down' | 'closed'

export interface RunOptions {
  signal?: AbortSignal
  onProgress?: (fraction: number) => void
}

/** Where a model runs, away from the HTTP event loop. */
export interface Runner {
  readonly state: RunnerState
  readonly restarts: number
  /** Load, set up and warm up; rejects when the model cannot start. */
  start(): Promise<{ warmupMs: number }>
  /** Resolves once the runner can take work (immediately when ready). */
  whenReady(): Promise<void>
  run(inputs: unknown[], options?: RunOptions): Promise<unknown[]>
  close(): Promise<void>
}

const RESTART_BACKOFF_MS = { first: 100, max: 10_000 }

interface Pending {
  resolve(outputs: unknown[]): void
  reject(error: Error): void
  onProgress?: (fraction: number) => void
}

/** One worker thread holding one copy of the model; restarted with back-off when it dies. */
export class WorkerRunner implements Runner {
  #worker: Worker | undefined
  #state: RunnerState = 'starting'
  #restarts = 0
  #backoffMs = RESTART_BACKOFF_MS.first
  #nextId = 1
  #pending = new Map<number, Pending>()
  #readyWaiters: (() => void)[] = []
  readonly #descriptor: ModelDescriptor
  readonly #options: RunnerOptions
  readonly #log: Logger
  readonly #caller: ModelCaller | undefined

  constructor(descriptor: ModelDescriptor, log: Logger, options: RunnerOptions = {}, caller?: ModelCaller) {
    this.#descriptor = descriptor
    this.#log = log
    this.#options = options
    this.#caller = caller
  }

  get state(): RunnerState {
    return this.#state
  }

  get restarts(): number {
    return this.#restarts
  }

  start(): Promise<{ warmupMs: number }> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(new URL('./worker-entry.js', import.meta.url))
      this.#worker = worker
      this.#state = 'starting'
      let started = false
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'ready') {
          started = true
          this.#setReady()
          resolve({ warmupMs: message.warmupMs })
        } else if (message.type === 'fatal') {
          this.#log.error({ model: this.#descriptor.name, stack: message.stack }, message.message)
          if (!started) reject(new Error(message.message))
        } else if (message.type === 'call') answerCall(message, this.#caller, (answer) => worker.postMessage(answer)) // ctx.models, answered to the worker that asked
        else this.#onMessage(message)
      })
      worker.on('error', (error) => {
        this.#log.error({ model: this.#descriptor.name, err: error }, 'runner thread error')
        if (!started) reject(error)
      })
      worker.on('exit', (code) => {
        if (this.#worker !== worker) return
        this.#worker = undefined
        if (this.#state === 'closed') return
        this.#failInFlight(new CarafeError('RUNNER_CRASHED'))
        if (!started) return reject(new Error(`${this.#descriptor.name}: the runner exited with code ${code} during setup`))
        this.#log.error({ model: this.#descriptor.name, code }, 'runner exited; restarting')
        this.#state = 'down'
        this.#scheduleRestart()
      })
      const init: ToWorker = { type: 'init', descriptor: this.#descriptor, options: this.#options }
      worker.postMessage(init)
    })
  }

  whenReady(): Promise<void> {
    if (this.#state === 'ready') return Promise.resolve()
    if (this.#state === 'closed') return Promise.reject(new CarafeError('SHUTTING_DOWN'))
    return new Promise((resolve) => this.#readyWaiters.push(resolve))
  }

  run(inputs: unknown[], { signal, onProgress }: RunOptions = {}): Promise<unknown[]> {
    const worker = this.#worker
    if (!worker || this.#state !== 'ready') return Promise.reject(new CarafeError('RUNNER_CRASHED', 'The model runner is not running; it is being restarted'))
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, onProgress })
      signal?.addEventListener('abort', () => worker.postMessage({ type: 'cancel', id } satisfies ToWorker), { once: true })
      worker.postMessage({ type: 'predict', id, inputs } satisfies ToWorker)
    })
  }

  async close(): Promise<void> {
    this.#state = 'closed'
    const worker = this.#worker
    this.#worker = undefined
    this.#failInFlight(new CarafeError('SHUTTING_DOWN'))
    if (worker) await worker.terminate()
  }

  #onMessage(message: Exclude<FromWorker, { type: 'ready' | 'fatal' | 'call' }>): void {
    switch (message.type) {
      case 'result': {
        const pending = this.#pending.get(message.id)
        this.#pending.delete(message.id)
        pending?.resolve(message.outputs)
        break
      }
      case 'error': {
        const pending = this.#pending.get(message.id)
        this.#pending.delete(message.id)
        const error = new CarafeError(message.code, message.code === 'PREDICTION_FAILED' ? undefined : message.message)
        error.cause = { message: message.message, stack: message.stack }
        pending?.reject(error)
        break
      }
      case 'progress':
        this.#pending.get(message.id)?.onProgress?.(message.fraction)
        break
      case 'log':
        this.#log[message.level]({ model: this.#descriptor.name, ...(message.obj as object) }, message.msg)
        break
    }
  }

  #setReady(): void {
    this.#state = 'ready'
    for (const wake of this.#readyWaiters.splice(0)) wake()
  }

  #failInFlight(error: CarafeError): void {
    for (const pending of this.#pending.values()) pending.reject(error)
    this.#pending.clear()
  }

  #scheduleRestart(): void {
    const delay = this.#backoffMs
    this.#backoffMs = Math.min(this.#backoffMs * 2, RESTART_BACKOFF_MS.max)
    setTimeout(() => {
      if (this.#state === 'closed') return
      this.#restarts++
      this.start().then(
        () => (this.#backoffMs = RESTART_BACKOFF_MS.first),
        (error) => {
          this.#log.error({ model: this.#descriptor.name, err: error }, 'runner restart failed')
          if (this.#state !== 'closed') this.#scheduleRestart()
        },
      )
    }, delay).unref()
  }
}
