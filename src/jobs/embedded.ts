import { randomUUID } from 'node:crypto'
import { CarafeError, isErrorCode } from '../errors.js'
import { JobLog } from './job-log.js'
import {
  JOB_STATUSES,
  isFinal,
  type JobFinished,
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
  onFinished?: JobFinished
}

const SWEEP_EVERY_MS = 60_000 // finished jobs past retention are removed at most this late

/** The default job store: jobs in memory, every change appended to a JSONL log under the data dir. */
export class EmbeddedJobStore implements JobStore {
  readonly #jobs: Map<string, JobRecord>
  readonly #byKey = new Map<string, string>()
  readonly #waiting: string[] = []
  readonly #running = new Map<string, AbortController>()
  /** Submit lines not yet synced: a job runs before its line is on disk, but tells nobody outside until it is. */
  readonly #syncing = new Map<string, Promise<void>>()
  readonly #log: JobLog
  readonly #options: EmbeddedOptions
  #processor: JobProcessor | undefined
  #closed = false
  /** Set by stopIntake: no job starts any more; `#runs` are the runs under way. */
  #intakeStopped = false
  readonly #runs = new Set<Promise<void>>()
  #sweeper: NodeJS.Timeout | undefined

  private constructor(log: JobLog, jobs: Map<string, JobRecord>, options: EmbeddedOptions) {
    this.#log = log
    this.#jobs = jobs
    this.#options = options
  }

  /** Replay the log: queued jobs wait again, running ones are queued to run again, expired ones go. */
  static async open(options: EmbeddedOptions): Promise<EmbeddedJobStore> {
    const log = new JobLog(options.dir)
    const jobs = log.replay()
    const cutoff = Date.now() - options.retentionMs
    for (const [id, job] of jobs) {
      if (isFinal(job.status) && Date.parse(job.finishedAt ?? job.createdAt) < cutoff) jobs.delete(id)
      else if (job.status === 'running') Object.assign(job, { status: 'queued', progress: 0 })
    }
    await log.compact(jobs.values())
    const store = new EmbeddedJobStore(log, jobs, options)
    const queued = [...jobs.values()]
      .filter((job) => job.status === 'queued')
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
    for (const job of jobs.values()) if (job.idempotencyKey) store.#byKey.set(job.idempotencyKey, job.id)
    store.#waiting.push(...queued.map((job) => job.id))
    store.#sweeper = setInterval(() => store.#sweep(), SWEEP_EVERY_MS).unref()
    return store
  }

  async submit({ model, instances, webhook, idempotencyKey, bodyHash }: JobSubmission): Promise<JobRecord> {
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
      status: 'queued',
      instances,
      progress: 0,
      createdAt: new Date().toISOString(),
      attempts: 0,
      ...(webhook ? { webhook } : {}),
      ...(idempotencyKey !== undefined ? { idempotencyKey, bodyHash } : {}),
    }
    this.#jobs.set(job.id, job)
    if (idempotencyKey !== undefined) this.#byKey.set(idempotencyKey, job.id)
    const accepted = { ...job } // as accepted, before the processor picks it up
    const durable = this.#log.write(job)
    this.#syncing.set(job.id, durable)
    // Start while the submit line is being synced: "running" is never logged and the result line can only follow the
    // submit line in the log, so nothing unsynced is ever promised. The job is often done by the client's first poll.
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
    await this.#finish(job, { status: 'canceled' })
    return job
  }

  start(processor: JobProcessor): void {
    this.#processor = processor
    this.#pump()
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

  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#sweeper)
    // running jobs stay "running" in the log, so the next start runs them again
    for (const controller of this.#running.values()) controller.abort(new CarafeError('SHUTTING_DOWN'))
    await this.#log.close()
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
    Object.assign(job, { status: 'running', startedAt: new Date().toISOString(), attempts: job.attempts + 1 })
    try {
      // "running" is not logged: after a crash a running job is queued again either way, so it would cost an fsync for nothing
      const result = await processor(job, {
        signal: controller.signal,
        onProgress: (fraction) => {
          if (job.status === 'running') job.progress = fraction
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
    Object.assign(job, change, { finishedAt: new Date().toISOString() })
    await this.#log.write(job).catch(() => undefined)
    // a job that finished before its submit line was synced calls its webhook only once the submit is accepted
    const accepted = await (this.#syncing.get(job.id) ?? Promise.resolve()).then(
      () => true,
      () => false,
    )
    if (accepted && this.#jobs.get(job.id) === job) this.#options.onFinished?.(job) // a dropped job is no longer in the map
  }

  #sweep(): void {
    const cutoff = Date.now() - this.#options.retentionMs
    for (const [id, job] of this.#jobs) {
      if (!isFinal(job.status) || Date.parse(job.finishedAt!) >= cutoff) continue
      this.#jobs.delete(id)
      if (job.idempotencyKey !== undefined) this.#byKey.delete(job.idempotencyKey)
      void this.#log.write({ removed: id }).catch(() => undefined)
    }
  }
}
