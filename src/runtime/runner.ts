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
  /**
   * performance.now() time until which this run may legitimately be busy (a background job's own deadline). The runner
   * is judged hung only past the later of this and the run's start + hangTimeoutMs; a client's deadline never counts.
   */
  busyUntil?: number
}

/** Server-side limits of a runner (config, never a request header). */
export interface WatchOptions {
  /** A run still busy this long is hung: the runner is killed and replaced (default 30 s). */
  hangTimeoutMs?: number
  /** Load + setup + warm-up; past it the runner is killed and the start fails (default 5 min). */
  setupTimeoutMs?: number
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
export const DEFAULT_HANG_TIMEOUT_MS = 30_000
export const DEFAULT_SETUP_TIMEOUT_MS = 5 * 60_000
// a thread stuck in native code may never honour terminate(): close() stops waiting for it after this
const KILL_WAIT_MS = 2_000

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
  #restartTimer: NodeJS.Timeout | undefined
  #abortStart: ((error: Error) => void) | undefined
  readonly #descriptor: ModelDescriptor
  readonly #options: RunnerOptions & SpawnOptions & WatchOptions
  readonly #log: Logger
  readonly #caller: ModelCaller | undefined
  readonly #pack: ((instances: unknown[]) => PackedRows | undefined) | undefined

  constructor(
    descriptor: ModelDescriptor,
    log: Logger,
    options: RunnerOptions & SpawnOptions & WatchOptions = {},
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
    if (this.#state === 'closed') return Promise.reject(new CarafeError('SHUTTING_DOWN'))
    return new Promise((resolveStart, rejectStart) => {
      const channel = spawnRunner(this.#options)
      this.#channel = channel
      this.#state = 'starting'
      let started = false
      const setupTimeoutMs = this.#options.setupTimeoutMs ?? DEFAULT_SETUP_TIMEOUT_MS
      const done = () => {
        clearTimeout(setupTimer)
        this.#abortStart = undefined
      }
      const resolve = (value: { warmupMs: number }) => {
        done()
        resolveStart(value)
      }
      const reject = (error: Error) => {
        done()
        rejectStart(error)
      }
      this.#abortStart = reject // close() during setup ends the start at once
      // a setup that never ends would leave the model down for good: kill it, and let the caller retry with back-off
      const setupTimer = setTimeout(() => {
        if (this.#channel !== channel || started) return
        this.#channel = undefined
        void this.#kill(channel)
        reject(
          new Error(
            `${this.#descriptor.name}: setup and warm-up did not finish within setupTimeoutMs (${setupTimeoutMs} ms)`,
          ),
        )
      }, setupTimeoutMs)
      setupTimer.unref()
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

  run(inputs: unknown[], { signal, onProgress, busyUntil }: RunOptions = {}): Promise<unknown[]> {
    const channel = this.#channel
    if (!channel || this.#state !== 'ready')
      return Promise.reject(new CarafeError('RUNNER_CRASHED', 'The model runner is not running; it is being restarted'))
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      const pending: Pending = { resolve, reject, onProgress }
      const hangMs = Math.max(
        this.#options.hangTimeoutMs ?? DEFAULT_HANG_TIMEOUT_MS,
        busyUntil === undefined ? 0 : busyUntil - performance.now(),
      )
      pending.watchdog = setTimeout(() => this.#onHang(channel, id, hangMs), hangMs)
      pending.watchdog.unref()
      this.#pending.set(id, pending)
      signal?.addEventListener('abort', () => channel.post({ type: 'cancel', id } satisfies ToWorker), { once: true })
      const packed = this.#pack?.(inputs)
      if (packed)
        channel.post({ type: 'predict', id, inputs: packed } satisfies ToWorker, [packed.data.buffer as ArrayBuffer])
      else channel.post({ type: 'predict', id, inputs } satisfies ToWorker)
    })
  }

  /**
   * Stop now, whatever the runner is doing: mid-setup, crash-looping, or stuck in a run. Waiters and in-flight runs get
   * SHUTTING_DOWN; nothing here waits on a setup or a run that may never end.
   */
  async close(): Promise<void> {
    this.#state = 'closed'
    clearTimeout(this.#restartTimer)
    const channel = this.#channel
    this.#channel = undefined
    this.#abortStart?.(new CarafeError('SHUTTING_DOWN'))
    this.#failInFlight(new CarafeError('SHUTTING_DOWN'))
    for (const waiter of this.#readyWaiters.splice(0)) waiter.reject(new CarafeError('SHUTTING_DOWN'))
    if (channel) await this.#kill(channel)
  }

  /** Kill a runner, waiting a bounded time: a thread stuck in native code may never exit. */
  async #kill(channel: RunnerChannel): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      channel.kill().catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.#log.error(
            { model: this.#descriptor.name },
            `the runner did not stop within ${KILL_WAIT_MS} ms of being killed (stuck in native code?); no longer waiting for it`,
          )
          resolve()
        }, KILL_WAIT_MS)
        timer.unref()
      }),
    ])
    clearTimeout(timer)
  }

  /** A run outlived the hang threshold (a server setting, never a client's deadline): kill the runner, replace it with back-off. */
  #onHang(channel: RunnerChannel, id: number, hangMs: number): void {
    if (this.#channel !== channel || !this.#pending.has(id) || this.#state === 'closed') return
    this.#log.error(
      { model: this.#descriptor.name, hangTimeoutMs: hangMs },
      'runner busy past its hang threshold; terminating and replacing it',
    )
    this.#channel = undefined
    this.#state = 'down'
    this.#failInFlight(
      new CarafeError(
        'DEADLINE_EXCEEDED',
        `The model was still busy after ${hangMs} ms (its hang threshold); its runner was stopped and replaced`,
      ),
    )
    void this.#kill(channel).finally(() => this.#scheduleRestart())
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
    if (this.#state === 'closed') return
    const delay = this.#backoffMs
    this.#backoffMs = Math.min(this.#backoffMs * 2, RESTART_BACKOFF_MS.max)
    this.#restartTimer = setTimeout(() => this.#restart(), delay)
    this.#restartTimer.unref()
  }

  #restart(): void {
    if (this.#state === 'closed') return
    this.#restarts++
    this.start().then(
      () => (this.#backoffMs = RESTART_BACKOFF_MS.first),
      (error) => {
        if (this.#state === 'closed') return
        this.#log.error({ model: this.#descriptor.name, err: error }, 'runner restart failed')
        this.#scheduleRestart()
      },
    )
  }
}
