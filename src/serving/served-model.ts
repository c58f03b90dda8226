import type { Config } from '../config/index.js'
import { CarafeError } from '../errors.js'
import { compileInstanceValidator, type Logger, type ModelDescriptor } from '../model/index.js'
import { BoundedQueue, runBatcher, type WorkItem } from '../batching/index.js'
import { WorkerRunner, type ModelCaller, type Runner } from '../runtime/index.js'
import { ModelStats } from './stats.js'

export type ModelState = 'loading' | 'ready' | 'failed' | 'down' | 'stopped'

export interface PredictOptions {
  /** Milliseconds this prediction may take in all, queue wait included. */
  timeoutMs?: number
  signal?: AbortSignal
  onProgress?: (fraction: number) => void
}

/** A model as the server offers it: validation, the bounded queue, the batcher and the runner behind it. */
export class ServedModel {
  readonly descriptor: ModelDescriptor
  readonly stats = new ModelStats()
  readonly validate: (instances: unknown[]) => void
  #state: ModelState = 'loading'
  #error: string | undefined
  readonly #queue: BoundedQueue<WorkItem>
  readonly #runner: Runner
  readonly #config: Readonly<Config>
  #loop: Promise<void> | undefined

  /** `caller` answers the handler's ctx.models calls (the registry passes one). */
  constructor(descriptor: ModelDescriptor, config: Readonly<Config>, log: Logger, runner?: Runner, caller?: ModelCaller) {
    this.descriptor = descriptor
    this.#config = config
    this.validate = compileInstanceValidator(descriptor.input)
    this.#queue = new BoundedQueue(descriptor.settings.maxQueue ?? config.maxQueue)
    this.#runner = runner ?? new WorkerRunner(descriptor, log, {}, caller)
  }

  get name(): string {
    return this.descriptor.name
  }

  /** Ready means loaded, warmed up, and a runner alive right now. */
  get state(): ModelState {
    if (this.#state === 'ready' && this.#runner.state !== 'ready') return 'down'
    return this.#state
  }

  get ready(): boolean {
    return this.state === 'ready'
  }

  async start(): Promise<void> {
    try {
      const { warmupMs } = await this.#runner.start()
      this.stats.warmupMs = warmupMs
      this.#state = 'ready'
      this.#loop = runBatcher(this.#queue, this.#runner, this.descriptor.batch, this.stats)
    } catch (error) {
      this.#state = 'failed'
      this.#error = (error as Error).message
      throw error
    }
  }

  /** Validate, queue, and wait for this request's outputs (one per instance, in order). */
  predict(instances: unknown[], { timeoutMs, signal, onProgress }: PredictOptions = {}): Promise<unknown[]> {
    this.validate(instances)
    if (this.#state === 'stopped' || this.#queue.closed) return Promise.reject(new CarafeError('SHUTTING_DOWN'))
    if (this.#state !== 'ready') return Promise.reject(new CarafeError('NOT_READY', `Model "${this.name}" is ${this.#state}`))
    const budget = Math.min(timeoutMs ?? this.#config.timeoutMs, this.#config.timeoutMs)
    const enqueuedAt = performance.now()
    return new Promise<unknown[]>((resolve, reject) => {
      let settled = false
      const settle = (fn: () => void) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        fn()
      }
      const timer = setTimeout(() => settle(() => reject(new CarafeError('DEADLINE_EXCEEDED'))), budget)
      const item: WorkItem = {
        instances,
        deadline: enqueuedAt + budget,
        enqueuedAt,
        signal,
        onProgress,
        resolve: (outputs) => settle(() => resolve(outputs)),
        reject: (error) => settle(() => reject(error)),
      }
      if (!this.#queue.push(item)) {
        settle(() => reject(new CarafeError('OVERLOADED', `The queue of model "${this.name}" is full (${this.#queue.capacity} waiting); retry later`, undefined, 1)))
      }
    })
  }

  describe() {
    const d = this.descriptor
    return {
      name: d.name,
      version: d.version,
      description: d.description,
      state: this.state,
      ...(this.#error ? { error: this.#error } : {}),
      input: d.input,
      output: d.output ?? null,
      labels: d.labels ?? null,
      examples: d.examples,
      batch: d.batch,
      stats: { ...this.stats.snapshot(), queueDepth: this.#queue.length, restarts: this.#runner.restarts },
    }
  }

  /** Stop taking work, answer everything already queued, then stop the runner. */
  async close(): Promise<void> {
    this.#queue.close()
    await this.#loop
    this.#state = 'stopped'
    await this.#runner.close()
  }
}
