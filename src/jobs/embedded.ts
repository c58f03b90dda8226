import { randomUUID } from 'node:crypto'
import { copyFile } from 'node:fs/promises'
import { CarafeError, isErrorCode } from '../errors.js'
import { DirLock } from './dir-lock.js'
import { JobListeners } from './job-listeners.js'
import { JobLog } from './job-log.js'
import { replayLog, type Replayed } from './log-replay.js'
import {
  JOB_STATUSES,
  isFinal,
  type JobFinished,
  type JobListener,
  type JobRecord,
  type JobProcessor,
  type JobStatus,
  type JobStore,
  type JobSubmission,
} from './store.js'

export interface EmbeddedOptions {
  dir: string
  /** Jobs run at once; the rest wait, so background work leaves room for the sync API. */
  concurrency: number
  /** How long finished jobs are kept, in milliseconds. */
  retentionMs: number
  /** Starts of a job that was running when the process died; past it the job fails with JOB_ATTEMPTS_EXCEEDED. */
  maxAttempts?: number
  onFinished?: JobFinished
  log?: { warn(obj: unknown, msg: string): void }
  /** Compaction tuning (tests): rewrite the log past factor × live data + slack bytes. */
  compactFactor?: number
  compactSlackBytes?: number
}

const DEFAULT_MAX_ATTEMPTS = 3

const SWEEP_EVERY_MS = 60_000 // finished jobs past retention are removed at most this late

/** The default job store: jobs in memory, every change appended to a JSONL log under the data dir. */
export class EmbeddedJobStore implements JobStore {
  readonly #jobs: Map<string, JobRecord>
  readonly #byKey = new Map<string, string>()
  readonly #waiting: string[] = []
  readonly #running = new Map<string, AbortController>()
  /** Submit lines not yet synced: the job runs only once its line is on disk (and a failed write drops it). */
  readonly #syncing = new Map<string, Promise<void>>()
  readonly #log: JobLog
  readonly #listeners = new JobListeners()
  readonly #lock: DirLock
  readonly #options: EmbeddedOptions
  #processor: JobProcessor | undefined
  #closed = false
  #closing: Promise<void> | undefined
  /** Set by stopIntake: no job starts any more; `#runs` are the runs under way. */
  #intakeStopped = false
  readonly #runs = new Set<Promise<void>>()
  #sweeper: NodeJS.Timeout | undefined

  private constructor(lock: DirLock, jobs: Map<string, JobRecord>, options: EmbeddedOptions) {
    this.#lock = lock
    this.#jobs = jobs
    this.#options = options
    this.#log = new JobLog({
      dir: options.dir,
      current: (id) => jobs.get(id),
      compactFactor: options.compactFactor,
      compactSlackBytes: options.compactSlackBytes,
      onError: (error, message) => options.log?.warn({ err: error }, message),
    })
  }

  /**
   * Replay the log: queued jobs wait again; a job that was running when the process died runs again until it has
   * been started maxAttempts times, then fails; expired ones go. Every error names the log file.
   */
  static async open(options: EmbeddedOptions): Promise<EmbeddedJobStore> {
    const lock = await DirLock.acquire(options.dir)
    const jobs = new Map<string, JobRecord>()
    const store = new EmbeddedJobStore(lock, jobs, options)
    const path = store.#log.path
    try {
      const replayed = await replayLog(path)
      for (const [id, job] of replayed.jobs) jobs.set(id, job)
      await store.#report(replayed)
      const exceeded: JobRecord[] = []
      const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS
      for (const job of jobs.values()) {
        if (job.status !== 'running') continue
        if (job.attempts >= maxAttempts) exceeded.push(job)
        else Object.assign(job, { status: 'queued', progress: 0 })
      }
      await store.#log.open(replayed.sizes, replayed.skipped.length > 0 || replayed.stale)
      for (const job of exceeded) {
        // it took the process down (or was running at every crash) maxAttempts times: running it again would too
        void store.#finish(job, {
          status: 'failed',
          error: {
            code: 'JOB_ATTEMPTS_EXCEEDED',
            message: `The job was running when the server stopped ${job.attempts} times; it is not run again`,
          },
        })
      }
    } catch (error) {
      await store.#log.close().catch(() => undefined)
      await lock.release()
      throw new Error(`jobs: cannot open the job log ${path}: ${(error as Error).message}`, { cause: error })
    }
    const queued = [...jobs.values()]
      .filter((job) => job.status === 'queued')
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
    for (const job of jobs.values()) if (job.idempotencyKey) store.#byKey.set(job.idempotencyKey, job.id)
    store.#waiting.push(...queued.map((job) => job.id))
    store.#sweep()
    store.#sweeper = setInterval(() => store.#sweep(), SWEEP_EVERY_MS).unref()
    return store
  }

  /** The log's size and the live data a compaction keeps (tests and operators). */
  get logStats() {
    return this.#log.stats
  }

  /** Each skipped line is logged with its number; a log with bad lines is copied aside before it is rewritten. */
  async #report({ skipped, torn }: Replayed): Promise<void> {
    const path = this.#log.path
    for (const { line, reason } of skipped)
      this.#options.log?.warn({ file: path, line, reason }, 'job log: line skipped')
    if (skipped.length === (torn ? 1 : 0)) return // a torn last line is what a crash leaves: it was never acknowledged
    const copy = `${path}.corrupt-${new Date().toISOString().replaceAll(':', '-')}`
    await copyFile(path, copy)
    this.#options.log?.warn(
      { file: path, copy, skipped: skipped.length },
      'job log: bad lines were skipped; the log as it was is kept in the copy',
    )
  }

  async submit({ model, version, instances, webhook, idempotencyKey, bodyHash }: JobSubmission): Promise<JobRecord> {
    if (this.#closed) throw new CarafeError('SHUTTING_DOWN')
    if (idempotencyKey !== undefined) {
      const existing = this.#jobs.get(this.#byKey.get(idempotencyKey) ?? '')
      if (existing) {
        if (existing.bodyHash !== bodyHash)
          throw new CarafeError(
            'IDEMPOTENCY_CONFLICT',
            `Idempotency-Key "${idempotencyKey}" was used for job ${existing.id} with a different body; use a new key`,
          )
        await this.#syncing.get(existing.id) // the first submit's answer first: if its write fails, so does this one
        return existing
      }
    }
    const job: JobRecord = {
      id: randomUUID(),
      model,
      ...(version !== undefined ? { version } : {}),
      status: 'queued',
      instances,
      progress: 0,
      createdAt: new Date().toISOString(),
      attempts: 0,
      ...(webhook ? { webhook } : {}),
      ...(idempotencyKey !== undefined ? { idempotencyKey, bodyHash } : {}),
    }
    let durable: Promise<void>
    try {
      durable = this.#log.write(job, true) // throws before anything is kept when the job cannot be serialized
    } catch (error) {
      throw new CarafeError('INVALID_INPUT', `The job cannot be stored: ${(error as Error).message}`)
    }
    this.#jobs.set(job.id, job)
    if (idempotencyKey !== undefined) this.#byKey.set(idempotencyKey, job.id)
    const accepted = { ...job } // as accepted, before the processor picks it up
    this.#syncing.set(job.id, durable)
    this.#waiting.push(job.id)
    this.#pump()
    try {
      await durable
      this.#syncing.delete(job.id)
    } catch (error) {
      this.#syncing.delete(job.id)
      // not accepted after all: the client gets an error, so the job must not run or be found
      job.status = 'canceled' // so a run already under way records nothing
      this.#running.get(job.id)?.abort()
      this.#jobs.delete(job.id)
      if (idempotencyKey !== undefined) this.#byKey.delete(idempotencyKey)
      throw error
    }
    return accepted
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return this.#jobs.get(id)
  }

  async cancel(id: string): Promise<JobRecord | undefined> {
    const job = this.#jobs.get(id)
    if (!job || isFinal(job.status)) return job
    this.#running.get(id)?.abort()
    const waitingAt = this.#waiting.indexOf(id)
    if (waitingAt >= 0) this.#waiting.splice(waitingAt, 1) // backlog() counts #waiting
    await this.#finish(job, { status: 'canceled' })
    return job
  }

  watch(id: string, listener: JobListener): () => void {
    return this.#listeners.add(id, listener)
  }

  start(processor: JobProcessor): void {
    this.#processor = processor
    this.#pump()
  }

  backlog(): number {
    return this.#waiting.length
  }

  stats(model: string) {
    const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>
    let queueDepth = 0
    for (const job of this.#jobs.values()) {
      if (job.model !== model) continue
      counts[job.status]++
      if (job.status === 'queued') queueDepth++
    }
    return { counts, queueDepth }
  }

  async stopIntake(): Promise<void> {
    this.#intakeStopped = true
    await Promise.all(this.#runs)
  }

  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#sweeper)
    for (const [id, controller] of this.#running) {
      controller.abort(new CarafeError('SHUTTING_DOWN'))
      const job = this.#jobs.get(id)
      if (job?.status !== 'running') continue
      // queued again for the next start; a shutdown is not the job's fault, so this start does not count
      Object.assign(job, { status: 'queued', progress: 0, attempts: job.attempts - 1 })
      void this.#log.write(job).catch(() => undefined)
    }
    await this.#log.close()
    await this.#lock.release()
  }

  #pump(): void {
    while (
      this.#processor &&
      !this.#closed &&
      !this.#intakeStopped &&
      this.#running.size < this.#options.concurrency &&
      this.#waiting.length > 0
    ) {
      const job = this.#jobs.get(this.#waiting.shift()!)
      if (job?.status !== 'queued') continue
      const run = this.#run(job, this.#processor)
      this.#runs.add(run)
      void run.finally(() => this.#runs.delete(run))
    }
  }

  async #run(job: JobRecord, processor: JobProcessor): Promise<void> {
    const controller = new AbortController()
    this.#running.set(job.id, controller)
    try {
      // A job started as it is submitted writes its start line into its submit line's flush: one fdatasync puts both on
      // disk (in order), or neither. Otherwise the start waits for the submit line, so it never follows a failed one.
      const withSubmit = this.#syncing.has(job.id) && this.#log.waiting(job)
      if (!withSubmit && !(await this.#accepted(job.id))) return
      if (job.status !== 'queued' || this.#closed) return
      job.status = 'running' as JobStatus
      Object.assign(job, { startedAt: new Date().toISOString(), attempts: job.attempts + 1 })
      // the start is on disk before the job runs, so a job that takes the process down is not run at every start
      await this.#log.write(job).catch(() => undefined)
      if (withSubmit && !(await this.#accepted(job.id))) return // that flush failed: the submit dropped the job
      this.#listeners.emit(job)
      if (job.status !== 'running' || this.#closed) return
      const result = await processor(job, {
        signal: controller.signal,
        onProgress: (fraction) => {
          if (job.status !== 'running') return
          job.progress = fraction
          this.#listeners.emit(job)
        },
      })
      if (job.status === 'running' && !this.#closed)
        await this.#finish(job, { status: 'succeeded', result, progress: 1 })
    } catch (error) {
      const code = (error as CarafeError).code
      if (code === 'SHUTTING_DOWN' && job.status === 'running') {
        // refused because the process is stopping: not the job's fault, so it waits again (and nothing more starts)
        this.#intakeStopped = true
        Object.assign(job, { status: 'queued', progress: 0, attempts: job.attempts - 1 })
        this.#waiting.unshift(job.id)
        // the log said running (and counted the attempt): the next start must see it queued, and not count it
        void this.#log.write(job).catch(() => undefined)
        this.#listeners.emit(job)
        return
      }
      if (job.status === 'running' && !this.#closed) {
        await this.#finish(job, {
          status: 'failed',
          error: { code: isErrorCode(code) ? code : 'PREDICTION_FAILED', message: (error as Error).message },
        })
      }
    } finally {
      this.#running.delete(job.id)
      this.#pump()
    }
  }

  async #finish(job: JobRecord, change: Partial<JobRecord>): Promise<void> {
    Object.assign(job, change, { finishedAt: new Date().toISOString(), instances: [] }) // the input is not needed again
    let written: Promise<void>
    try {
      written = this.#log.write(job)
    } catch (error) {
      Object.assign(job, {
        status: 'failed',
        result: undefined,
        error: { code: 'PREDICTION_FAILED', message: `The result cannot be stored: ${(error as Error).message}` },
      })
      written = this.#log.write(job)
    }
    await written.catch(() => undefined)
    this.#listeners.emit(job) // after the write: a watcher is told only what a restart would also show
    // a job that finished before its submit line was synced calls its webhook only once the submit is accepted
    if ((await this.#accepted(job.id)) && this.#jobs.get(job.id) === job) this.#options.onFinished?.(job) // a dropped job is no longer in the map
  }

  /** Whether the job's submit line is on disk (false when that write failed). */
  #accepted(id: string): Promise<boolean> {
    return (this.#syncing.get(id) ?? Promise.resolve()).then(
      () => true,
      () => false,
    )
  }

  #sweep(): void {
    const cutoff = Date.now() - this.#options.retentionMs
    for (const [id, job] of this.#jobs) {
      if (!isFinal(job.status) || Date.parse(job.finishedAt ?? job.createdAt) >= cutoff) continue
      this.#jobs.delete(id)
      if (job.idempotencyKey !== undefined) this.#byKey.delete(job.idempotencyKey)
      void this.#log.write({ removed: id }).catch(() => undefined)
    }
  }
}
