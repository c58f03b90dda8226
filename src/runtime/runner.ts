import { CarafeError } from '../errors.js'
import { rowPacker, type Logger, type ModelDescriptor, type PackedRows } from '../model/index.js'
import { spawnRunner, type RunnerChannel, type SpawnOptions } from './channel.js'
import { answerCall } from './answer-call.js'
import type { FromWorker, ModelCaller, RunnerOptions, ToWorker } from './protocol.js'

export type RunnerState = 'starting' | 'ready' | 'down' | 'closed'

/**
 * What the queue and the runner need of a cancellation. An AbortSignal is one (jobs use it); the HTTP layer passes a
 * cheaper one of its own for each request.
 */
export interface CancelSignal {
  readonly aborted: boolean
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void
  removeEventListener(type: 'abort', listener: () => void): void
}

export interface RunOptions {
  signal?: CancelSignal
  onProgress?: (fraction: number) => void
  /** performance.now() time after which nobody waits for this run: a runner still busy then is stuck, and replaced. */
  deadline?: number
}

/** Where a model runs, away from the HTTP event loop. */
export interface Runner {
  readonly state: RunnerState
  readonly restarts: number
  /** performance.now() when this runner last stopped being ready (a crash, a hang); undefined while ready. */
  readonly downSince?: number
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
  watchdog?: NodeJS.Timeout
}

/** One worker thread (or child process) holding one copy of the model; replaced when it dies or hangs. */
export class WorkerRunner implements Runner {
  #channel: RunnerChannel | undefined
  #current: RunnerState = 'starting'
  #downSince: number | undefined
  #restarts = 0
  #backoffMs = RESTART_BACKOFF_MS.first
  #nextId = 1
  #pending = new Map<number, Pending>()
  #readyWaiters: { resolve(): void; reject(error: Error): void }[] = []
  readonly #descriptor: ModelDescriptor
  readonly #options: RunnerOptions & SpawnOptions
  readonly #log: Logger
  readonly #caller: ModelCaller | undefined
  readonly #pack: ((instances: unknown[]) => PackedRows | undefined) | undefined

  constructor(
    descriptor: ModelDescriptor,
    log: Logger,
    options: RunnerOptions & SpawnOptions = {},
    caller?: ModelCaller,
  ) {
    this.#descriptor = descriptor
    this.#pack = rowPacker(descriptor)
    this.#log = log
    this.#options = options
    this.#caller = caller
  }

  get state(): RunnerState {
    return this.#state
  }

  get downSince(): number | undefined {
    return this.#downSince
  }

  // every state change goes through here, so the time the runner left `ready` is known to readiness
  get #state(): RunnerState {
    return this.#current
  }

  set #state(next: RunnerState) {
    if (this.#current === 'ready' && next !== 'ready') this.#downSince = performance.now()
    else if (next === 'ready') this.#downSince = undefined
    this.#current = next
  }

  get restarts(): number {
    return this.#restarts
  }

  start(): Promise<{ warmupMs: number }> {
    return new Promise((resolve, reject) => {
      const channel = spawnRunner(this.#options)
      this.#channel = channel
      this.#state = 'starting'
      let started = false
      channel.onMessage((message: FromWorker) => {
        if (this.#channel !== channel) return
        if (message.type === 'ready') {
          started = true
          this.#setReady()
          resolve({ warmupMs: message.warmupMs })
        } else if (message.type === 'fatal') {
          this.#log.error({ model: this.#descriptor.name, stack: message.stack }, message.message)
          if (!started) reject(new Error(message.message))
        } else if (message.type === 'call')
          answerCall(message, this.#caller, (answer) => channel.post(answer)) // ctx.models, answered to the runner that asked
        else this.#onMessage(message)
      })
      channel.onError((error) => {
        this.#log.error({ model: this.#descriptor.name, err: error }, 'runner error')
        if (!started) reject(error)
      })
      channel.onExit((code) => {
        if (this.#channel !== channel) return
        this.#channel = undefined
        if (this.#state === 'closed') return
        this.#failInFlight(new CarafeError('RUNNER_CRASHED'))
        if (!started)
          return reject(new Error(`${this.#descriptor.name}: the runner exited with code ${code} during setup`))
        this.#log.error({ model: this.#descriptor.name, code }, 'runner exited; restarting')
        this.#state = 'down'
        this.#scheduleRestart()
      })
      channel.post({
        type: 'init',
        descriptor: this.#descriptor,
        options: { intraOpNumThreads: this.#options.intraOpNumThreads },
      })
    })
  }

  whenReady(): Promise<void> {
    if (this.#state === 'ready') return Promise.resolve()
    if (this.#state === 'closed') return Promise.reject(new CarafeError('SHUTTING_DOWN'))
    return new Promise((resolve, reject) => this.#readyWaiters.push({ resolve, reject }))
  }

  run(inputs: unknown[], { signal, onProgress, deadline }: RunOptions = {}): Promise<unknown[]> {
    const channel = this.#channel
    if (!channel || this.#state !== 'ready')
      return Promise.reject(new CarafeError('RUNNER_CRASHED', 'The model runner is not running; it is being restarted'))
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      const pending: Pending = { resolve, reject, onProgress }
      if (deadline !== undefined) {
        pending.watchdog = setTimeout(() => this.#onHang(channel, id), Math.max(0, deadline - performance.now()))
        pending.watchdog.unref()
      }
      this.#pending.set(id, pending)
      signal?.addEventListener('abort', () => channel.post({ type: 'cancel', id } satisfies ToWorker), { once: true })
      const packed = this.#pack?.(inputs)
      if (packed)
        channel.post({ type: 'predict', id, inputs: packed } satisfies ToWorker, [packed.data.buffer as ArrayBuffer])
      else channel.post({ type: 'predict', id, inputs } satisfies ToWorker)
    })
  }

  async close(): Promise<void> {
    this.#state = 'closed'
    const channel = this.#channel
    this.#channel = undefined
    this.#failInFlight(new CarafeError('SHUTTING_DOWN'))
    for (const waiter of this.#readyWaiters.splice(0)) waiter.reject(new CarafeError('SHUTTING_DOWN'))
    if (channel) await channel.kill()
  }

  /** A run outlived its batch's deadline: the runner is stuck (or far too slow); kill it and start a fresh one. */
  #onHang(channel: RunnerChannel, id: number): void {
    if (this.#channel !== channel || !this.#pending.has(id) || this.#state === 'closed') return
    this.#log.error(
      { model: this.#descriptor.name },
      'runner stuck past the deadline of its batch; terminating and replacing it',
    )
    this.#channel = undefined
    this.#state = 'down'
    this.#failInFlight(
      new CarafeError('DEADLINE_EXCEEDED', 'The model did not finish in time; its runner was stopped and replaced'),
    )
    void channel.kill().finally(() => this.#restart())
  }

  #onMessage(message: Exclude<FromWorker, { type: 'ready' | 'fatal' | 'call' }>): void {
    switch (message.type) {
      case 'result':
        this.#take(message.id)?.resolve(message.outputs)
        break
      case 'error': {
        const error = new CarafeError(
          message.code,
          message.code === 'PREDICTION_FAILED' ? undefined : message.message,
          message.code === 'PREDICTION_FAILED' ? undefined : message.details,
        )
        error.cause = { message: message.message, stack: message.stack }
        this.#take(message.id)?.reject(error)
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

  #take(id: number): Pending | undefined {
    const pending = this.#pending.get(id)
    this.#pending.delete(id)
    clearTimeout(pending?.watchdog)
    return pending
  }

  #setReady(): void {
    this.#state = 'ready'
    for (const waiter of this.#readyWaiters.splice(0)) waiter.resolve()
  }

  #failInFlight(error: CarafeError): void {
    for (const id of [...this.#pending.keys()]) this.#take(id)?.reject(error)
  }

  #scheduleRestart(): void {
    const delay = this.#backoffMs
    this.#backoffMs = Math.min(this.#backoffMs * 2, RESTART_BACKOFF_MS.max)
    setTimeout(() => this.#restart(), delay).unref()
  }

  #restart(): void {
    if (this.#state === 'closed') return
    this.#restarts++
    this.start().then(
      () => (this.#backoffMs = RESTART_BACKOFF_MS.first),
      (error) => {
        this.#log.error({ model: this.#descriptor.name, err: error }, 'runner restart failed')
        if (this.#state !== 'closed') this.#scheduleRestart()
      },
    )
  }
}
