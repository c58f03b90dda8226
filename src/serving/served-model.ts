import type { Config } from '../config/index.js'
import { CarafeError } from '../errors.js'
import { compileInstanceValidator, ModelLoadError, type Logger, type ModelDescriptor } from '../model/index.js'
import { BoundedQueue, runBatcher, type WorkItem } from '../batching/index.js'
import {
  Abandon,
  DEFAULT_HANG_TIMEOUT_MS,
  WorkerRunner,
  type CancelSignal,
  type ModelCaller,
  type Runner,
} from '../runtime/index.js'
import { estimateWaitMs, refuseEarly } from './admission.js'
import { PredictionCache } from './prediction-cache.js'
import { ModelStats } from './stats.js'

/** `restarting`: no live runner right now, but the last one went down within the restart grace (see `state`). */
export type ModelState = 'loading' | 'ready' | 'restarting' | 'failed' | 'down' | 'stopping' | 'stopped'

// A model whose runners are all down counts as restarting (still serving: its requests wait in the queue) for this
// long plus twice its measured start-up time; past that (a crash loop in setup, a runner that never comes back) it is down.
const RESTART_GRACE_MS = 1_000
// how often a model checks whether it went down, to answer the sync requests waiting for it
const DOWN_CHECK_MS = 500

export interface PredictOptions {
  /** Milliseconds this prediction may take in all, queue wait included (at most the model's limit). */
  timeoutMs?: number
  /**
   * A background job: its limit is jobTimeoutMs instead of the sync timeoutMs, and it was admitted at submit, so it
   * waits its turn here instead of being refused as overloaded.
   */
  job?: boolean
  signal?: CancelSignal
  onProgress?: (fraction: number) => void
  /**
   * The instances are rows of tensors (TensorLike views, or objects of them by input name) that the caller already
   * checked against the ONNX signature (KServe V2 decode: names, datatype, shape, element values): for an ONNX model
   * without pre-processing, whose JSON Schema says no more than the signature, the schema check is skipped and the rows
   * reach the runner as the typed arrays they are.
   */
  checked?: boolean
}

/** A model as the server offers it: validation, the bounded queue, and one batcher loop per runner behind it. */
export class ServedModel {
  readonly descriptor: ModelDescriptor
  readonly stats = new ModelStats()
  readonly validate: (instances: unknown[]) => void
  #state: ModelState = 'loading'
  #error: string | undefined
  readonly #queue: BoundedQueue<WorkItem>
  readonly #runners: Runner[]
  readonly #config: Readonly<Config>
  readonly #cache: PredictionCache | undefined
  readonly #signatureIsSchema: boolean
  #loops: Promise<void>[] = []
  #startMs = 0
  #downCheck: NodeJS.Timeout | undefined
  #memoryMb = 0

  /** `caller` answers the handler's ctx.models calls (the registry passes one). */
  constructor(
    descriptor: ModelDescriptor,
    config: Readonly<Config>,
    log: Logger,
    runner?: Runner,
    caller?: ModelCaller,
  ) {
    this.descriptor = descriptor
    this.#config = config
    this.validate = compileInstanceValidator(descriptor.input)
    this.#signatureIsSchema = descriptor.source.kind === 'onnx' && !descriptor.preprocess
    this.#queue = new BoundedQueue(descriptor.settings.maxQueue ?? config.maxQueue)
    this.#cache = descriptor.settings.cache
      ? new PredictionCache(descriptor.name, descriptor.version, descriptor.settings.cache)
      : undefined
    const { workers = 1, intraOpThreads, maxMemoryMb } = descriptor.settings
    const isolation = isolationOf(descriptor)
    const watch = {
      hangTimeoutMs: hangTimeoutMs(descriptor, config),
      setupTimeoutMs: descriptor.settings.setupTimeoutMs ?? config.setupTimeoutMs,
    }
    this.#runners = runner
      ? [runner]
      : Array.from(
          { length: workers },
          () =>
            new WorkerRunner(
              descriptor,
              log,
              { isolation, intraOpNumThreads: intraOpThreads, maxMemoryMb, ...watch },
              caller,
            ),
        )
  }

  get name(): string {
    return this.descriptor.name
  }

  /**
   * `ready`: loaded, warmed up, and at least one runner alive right now. With none alive: `restarting` while the last
   * runner went down within the restart grace (one bad request crashed it; the replacement is on its way), `down` past it.
   */
  get state(): ModelState {
    if (this.#state !== 'ready') return this.#state
    if (this.#queue.closed) return 'stopping'
    if (this.#runners.some((r) => r.state === 'ready')) return 'ready'
    const downSince = Math.max(...this.#runners.map((r) => r.downSince ?? Number.NEGATIVE_INFINITY))
    return performance.now() - downSince <= RESTART_GRACE_MS + 2 * this.#startMs ? 'restarting' : 'down'
  }

  /** This model, strictly: a runner is alive right now (`/v2/models/{name}/ready`). */
  get ready(): boolean {
    return this.state === 'ready'
  }

  /**
   * Process RSS growth over this model's load and warm-up, in MB. An approximation: loads that overlap (at start, or
   * two versions at once) share their growth, freed garbage hides some, and a child process (isolation: process)
   * is not in this process's RSS at all.
   */
  get memoryMb(): number {
    return this.#memoryMb
  }

  get workers(): number {
    return this.#runners.length
  }

  get restarts(): number {
    return this.#runners.reduce((sum, r) => sum + r.restarts, 0)
  }

  async start(): Promise<void> {
    try {
      const started = performance.now()
      const rssBefore = process.memoryUsage.rss()
      const [{ warmupMs }] = await Promise.all(this.#runners.map((r) => r.start()))
      this.#startMs = performance.now() - started
      this.#memoryMb = Math.max(0, Math.round((process.memoryUsage.rss() - rssBefore) / 2 ** 20))
      this.stats.warmupMs = warmupMs
      this.#state = 'ready'
      this.#loops = this.#runners.map((r) => runBatcher(this.#queue, r, this.descriptor.batch, this.stats))
      // the loops end once the queue is closed and drained, or closed while their runner is down (crash-looping in
      // setup): nobody takes what is left, so it is answered now rather than at its deadline (which would hold shutdown)
      void Promise.all(this.#loops).then(() => this.#refuseLeftovers())
      this.#downCheck = setInterval(() => this.#refuseSyncIfDown(), DOWN_CHECK_MS).unref()
    } catch (error) {
      this.#state = 'failed'
      this.#error = (error as Error).message
      await Promise.all(this.#runners.map((r) => r.close()))
      throw error
    }
  }

  /** Validate, answer what the cache holds, queue the rest, and wait for this request's outputs (one per instance, in order). */
  predict(instances: unknown[], options: PredictOptions = {}): Promise<unknown[]> {
    if (this.#state === 'stopped' || this.#queue.closed) return Promise.reject(new CarafeError('SHUTTING_DOWN'))
    if (!(options.checked && this.#signatureIsSchema)) this.validate(instances)
    if (this.#state !== 'ready')
      return Promise.reject(new CarafeError('NOT_READY', `Model "${this.name}" is ${this.#state}`))
    const cache = this.#cache
    if (!cache) return this.#run(instances, options)
    const keys = instances.map((instance) => cache.keyOf(instance))
    const cached = cache.lookup(keys)
    const missing = cached.flatMap((entry, i) => (entry ? [] : [i]))
    const outputs = cached.map((entry) => entry?.output)
    if (missing.length === 0) return Promise.resolve(outputs)
    // only the misses go to the queue; their outputs are stored once the model has answered them successfully
    return this.#run(
      missing.map((i) => instances[i]),
      options,
    ).then(
      (fresh) => {
        cache.store(
          missing.map((i) => keys[i]),
          fresh,
        )
        for (const [k, i] of missing.entries()) outputs[i] = fresh[k]
        return outputs
      },
      (error: unknown) => {
        throw withRequestIndices(error, missing)
      },
    )
  }

  /** Queue validated instances for the runners, within the request's deadline. */
  #run(instances: unknown[], { timeoutMs, signal, onProgress, job }: PredictOptions): Promise<unknown[]> {
    const settings = this.descriptor.settings
    const limit = job
      ? (settings.jobTimeoutMs ?? this.#config.jobTimeoutMs)
      : (settings.timeoutMs ?? this.#config.timeoutMs)
    const budget = Math.min(timeoutMs ?? limit, limit)
    // a sync request to a model that is down would wait for a runner that may not come back: a 503 lets the client
    // (or its load balancer) try another replica; a job waits, it was accepted
    if (!job && this.state === 'down') return Promise.reject(this.#downError())
    const refusal = job
      ? undefined
      : refuseEarly(this.name, {
          queued: this.#queue.length,
          capacity: this.#queue.capacity,
          budgetMs: budget,
          waitMs: estimateWaitMs(this.#queue.length, this.stats, this.descriptor.batch, this.#runners.length),
        })
    if (refusal) return Promise.reject(refusal)
    const enqueuedAt = performance.now()
    return new Promise<unknown[]>((resolve, reject) => {
      let settled = false
      const settle = (fn: () => void) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        fn()
      }
      // The deadline only abandons this request: it is answered 504 and its run is cancelled (a handler reading its
      // signal stops); the runner is never killed for it. Only the server's hang threshold does that.
      const abandon = new Abandon()
      const timer = setTimeout(() => {
        settle(() => reject(new CarafeError('DEADLINE_EXCEEDED')))
        abandon.abort()
      }, budget)
      const item: WorkItem = {
        instances,
        deadline: enqueuedAt + budget,
        enqueuedAt,
        // a job may run as long as its own limit: the hang threshold is stretched to it for its run
        busyUntil: job ? enqueuedAt + budget : undefined,
        signal: abandon,
        onProgress,
        resolve: (outputs) => settle(() => resolve(outputs)),
        reject: (error) => settle(() => reject(error)),
      }
      // a client that hung up frees its place in the queue at once
      const onAbort = () => {
        this.#queue.removeWhere((queued) => queued === item)
        item.reject(new CarafeError('DEADLINE_EXCEEDED', 'The request was abandoned before the model ran'))
        abandon.abort()
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      // jobs are bounded by jobConcurrency, not by the queue's capacity, which is for sync requests
      if (!this.#queue.push(item, { overCapacity: job }))
        item.reject(
          new CarafeError('OVERLOADED', `The queue of model "${this.name}" is full; retry later`, undefined, 1),
        )
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
      preprocess: d.preprocess ?? null,
      examples: d.examples,
      batch: d.batch,
      workers: this.#runners.length,
      cache: this.#cache
        ? { maxEntries: this.#cache.settings.maxEntries, ttlMs: this.#cache.settings.ttlMs ?? 0 }
        : null,
      stats: {
        ...this.stats.snapshot(),
        memoryMb: this.#memoryMb,
        queueDepth: this.#queue.length,
        restarts: this.restarts,
        ...(this.#cache ? { cache: this.#cache.snapshot() } : {}),
      },
    }
  }

  /**
   * At shutdown, a model that is down (no live runner past its restart grace: crash-looping in setup) would keep what
   * is queued for it until shutdownTimeoutMs: it takes no more work, and what waits gets SHUTTING_DOWN now.
   */
  giveUpIfDown(): void {
    if (this.state !== 'down') return
    this.#queue.close()
    this.#refuseLeftovers()
  }

  /** Sync requests already waiting when the model went down get the same 503 a new one would; jobs keep waiting. */
  #refuseSyncIfDown(): void {
    if (this.state !== 'down' || this.#queue.length === 0) return
    // a job's item carries its own long deadline (busyUntil); a sync request's does not
    for (const item of this.#queue.removeWhere((queued) => queued.busyUntil === undefined))
      item.reject(this.#downError())
  }

  #downError(): CarafeError {
    return new CarafeError(
      'NOT_READY',
      `Model "${this.name}" has no live runner: it is restarting with back-off (${this.restarts} restarts); retry later`,
      undefined,
      1,
    )
  }

  #refuseLeftovers(): void {
    for (const item of this.#queue.removeWhere(() => true)) item.reject(new CarafeError('SHUTTING_DOWN'))
  }

  /**
   * Stop taking work, answer everything already queued, then stop the runners. `force`: do not wait for the queue:
   * what waits or runs gets SHUTTING_DOWN now (a job refused so goes back to its store's queue).
   */
  async close({ force = false }: { force?: boolean } = {}): Promise<void> {
    clearInterval(this.#downCheck)
    this.#queue.close()
    if (force) {
      this.#refuseLeftovers()
      await Promise.all(this.#runners.map((r) => r.close()))
    } else if (this.#queue.length === 0) {
      // nothing left for a runner that is restarting (or hangs in setup) to answer: its loop waits for it to be ready,
      // which may be never, so stop it now
      await Promise.all(this.#runners.filter((r) => r.state !== 'ready').map((r) => r.close()))
    }
    await Promise.all(this.#loops)
    this.#refuseLeftovers()
    this.#state = 'stopped'
    await Promise.all(this.#runners.map((r) => r.close()))
  }
}

/**
 * A model that accepts SVG runs in child processes: librsvg renders in native code that worker.terminate() cannot
 * interrupt (the thread, and a libuv pool thread, stay busy until the render ends), while SIGKILL ends a process.
 */
function isolationOf(descriptor: ModelDescriptor): 'thread' | 'process' | undefined {
  const svg = Object.values(descriptor.preprocess ?? {}).some((spec) => spec.formats?.includes('svg'))
  if (!svg) return descriptor.settings.isolation
  if (descriptor.settings.isolation === 'thread')
    throw new ModelLoadError(
      descriptor.source.path,
      'a model whose preprocess accepts svg needs isolation: process (a render cannot be stopped in a thread)',
    )
  return 'process'
}

/** The hang threshold: the model's, else the server's, else max(the model's sync deadline, 30 s). */
function hangTimeoutMs(descriptor: ModelDescriptor, config: Readonly<Config>): number {
  const sync = descriptor.settings.timeoutMs ?? config.timeoutMs
  return descriptor.settings.hangTimeoutMs ?? config.hangTimeoutMs ?? Math.max(sync, DEFAULT_HANG_TIMEOUT_MS)
}

/** An error about the k-th queued instance names the request's own index (the cache answered the others). */
function withRequestIndices(error: unknown, indices: number[]): unknown {
  if (!(error instanceof CarafeError) || !error.details) return error
  const details = error.details.map((d) => {
    const instance = (d as { instance?: unknown })?.instance
    return typeof instance === 'number' && indices[instance] !== undefined
      ? { ...(d as object), instance: indices[instance] }
      : d
  })
  return new CarafeError(error.code, error.message, details, error.retryAfter)
}
