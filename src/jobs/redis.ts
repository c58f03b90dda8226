import { randomUUID } from 'node:crypto'
import { Queue, UnrecoverableError, WaitingError, Worker, type ConnectionOptions, type Job } from 'bullmq'
import { Redis } from 'ioredis'
import { CarafeError, isErrorCode } from '../errors.js'
import {
  JOB_STATUSES,
  type JobError,
  type JobFinished,
  type JobRecord,
  type JobProcessor,
  type JobStatus,
  type JobStore,
  type JobSubmission,
} from './store.js'

export interface RedisOptions {
  /** redis://[user:password@]host[:port][/db][?prefix=name&lockDuration=ms&stalledInterval=ms] */
  url: string
  /** Every key starts with it, so tests (and several deployments) can share one Redis. */
  prefix?: string
  concurrency: number
  retentionMs: number
  onFinished?: JobFinished
  /** A dead worker's job is taken back after this long (BullMQ lockDuration / stalledInterval). */
  lockDurationMs?: number
  stalledIntervalMs?: number
}

interface JobData {
  model: string
  instances: unknown[]
  webhook?: string
  idempotencyKey?: string
  bodyHash?: string
  error?: JobError
}

const QUEUE = 'carafe-jobs'
const CANCEL_POLL_MS = 250 // how late a worker in another process notices a cancel

export function redisConnection(url: string): ConnectionOptions {
  const u = new URL(url)
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    db: Number(u.pathname.slice(1) || 0),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    maxRetriesPerRequest: null, // BullMQ workers need it
  }
}

/** A finished job says so in its hash: finishedOn, with failedReason (or our error) when it failed. */
function finishedState(job: Job<JobData, unknown[]>): JobStatus | undefined {
  if (!job.finishedOn) return undefined
  return job.failedReason || job.data.error ? 'failed' : 'succeeded'
}

const STATE: Record<string, JobStatus> = {
  waiting: 'queued',
  delayed: 'queued',
  prioritized: 'queued',
  'waiting-children': 'queued',
  active: 'running',
  completed: 'succeeded',
  failed: 'failed',
}

/** Jobs in Redis through BullMQ: any number of servers and `carafe worker`s share one queue. */
export class RedisJobStore implements JobStore {
  readonly #queue: Queue<JobData, unknown[]>
  readonly #options: RedisOptions
  /** Our own keys (cancel flags, idempotency keys); BullMQ keeps its connections to itself. */
  readonly #client: Redis
  readonly #prefix: string
  readonly #running = new Map<string, { controller: AbortController; progress: number }>()
  /** Status of the jobs this process has seen, for the synchronous stats(). */
  readonly #seen = new Map<string, { model: string; status: JobStatus }>()
  #worker: Worker<JobData, unknown[]> | undefined
  #closing = false

  private constructor(queue: Queue<JobData, unknown[]>, client: Redis, options: RedisOptions, prefix: string) {
    this.#queue = queue
    this.#client = client
    this.#options = options
    this.#prefix = prefix
  }

  static async open(options: RedisOptions): Promise<RedisJobStore> {
    const query = new URL(options.url).searchParams
    const prefix = options.prefix ?? (query.get('prefix') || 'carafe')
    const ms = (name: string) => (Number(query.get(name)) > 0 ? Number(query.get(name)) : undefined)
    options = {
      ...options,
      lockDurationMs: options.lockDurationMs ?? ms('lockDuration'),
      stalledIntervalMs: options.stalledIntervalMs ?? ms('stalledInterval'),
    }
    // Auto-pipelining sends the commands of one tick in one socket write: the profile under the job bench showed the
    // per-command write as the largest cost. Not for the worker, whose connection blocks.
    const pipelined = { ...redisConnection(options.url), enableAutoPipelining: true }
    const queue = new Queue<JobData, unknown[]>(QUEUE, { connection: pipelined, prefix })
    const client = new Redis(pipelined as object)
    client.on('error', () => undefined) // ioredis reconnects; a failing call rejects on its own
    await queue.waitUntilReady()
    return new RedisJobStore(queue, client, options, prefix)
  }

  #key(kind: 'canceled' | 'idem', id: string) {
    return `${this.#prefix}:${QUEUE}:carafe-${kind}:${id}`
  }

  async submit({ model, instances, webhook, idempotencyKey, bodyHash }: JobSubmission): Promise<JobRecord> {
    if (this.#closing) throw new CarafeError('SHUTTING_DOWN')
    const id = randomUUID()
    if (idempotencyKey !== undefined) {
      const redis = this.#client
      const claimed = await redis.set(
        this.#key('idem', idempotencyKey),
        JSON.stringify({ id, bodyHash }),
        'PX',
        this.#options.retentionMs,
        'NX',
      )
      if (claimed !== 'OK') {
        const existing = JSON.parse((await redis.get(this.#key('idem', idempotencyKey))) ?? '{}') as {
          id?: string
          bodyHash?: string
        }
        if (existing.bodyHash !== bodyHash)
          throw new CarafeError(
            'IDEMPOTENCY_CONFLICT',
            `Idempotency-Key "${idempotencyKey}" was used for job ${existing.id} with a different body; use a new key`,
          )
        // the first submit may still be adding its job; wait for it briefly
        for (let i = 0; i < 100; i++) {
          const job = await this.get(existing.id!)
          if (job) return job
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
      }
    }
    const data: JobData = {
      model,
      instances,
      ...(webhook ? { webhook } : {}),
      ...(idempotencyKey !== undefined ? { idempotencyKey, bodyHash } : {}),
    }
    const retention = { age: Math.ceil(this.#options.retentionMs / 1000) }
    const job = await this.#queue.add(model, data, {
      jobId: id,
      attempts: 1,
      removeOnComplete: retention,
      removeOnFail: retention,
    })
    this.#seen.set(id, { model, status: 'queued' })
    return this.#record(job, 'queued')
  }

  async get(id: string): Promise<JobRecord | undefined> {
    // one round trip for most polls: the cancel flag and the job hash together, and the state read from the hash
    const [canceled, job] = await Promise.all([this.#client.get(this.#key('canceled', id)), this.#queue.getJob(id)])
    if (canceled) return this.#note(JSON.parse(canceled) as JobRecord)
    if (!job) return undefined
    const known = finishedState(job)
    if (known || !job.processedOn) return this.#note(this.#record(job, known ?? 'queued'))
    // Taken: running, or back in the wait list after a stalled run; only BullMQ's getState tells. If it says finished,
    // the hash we read is older than that: read it again for the result.
    const state = STATE[await job.getState()] ?? 'queued'
    if (state !== 'succeeded' && state !== 'failed') return this.#note(this.#record(job, state))
    const now = await this.#queue.getJob(id)
    return now ? this.#note(this.#record(now, finishedState(now) ?? state)) : undefined
  }

  async cancel(id: string): Promise<JobRecord | undefined> {
    const current = await this.get(id)
    if (!current || current.status === 'succeeded' || current.status === 'failed' || current.status === 'canceled')
      return current
    const record: JobRecord = { ...current, status: 'canceled', finishedAt: new Date().toISOString() }
    delete record.result
    // the flag first: a worker that takes the job in between sees it and discards the run
    await this.#client.set(this.#key('canceled', id), JSON.stringify(record), 'PX', this.#options.retentionMs)
    if (current.status === 'queued') await this.#queue.remove(id).catch(() => undefined) // 0 when it just became active: the flag covers it
    this.#running.get(id)?.controller.abort()
    this.#options.onFinished?.(record)
    return this.#note(record)
  }

  start(processor: JobProcessor): void {
    if (this.#worker || this.#closing) return
    this.#worker = new Worker<JobData, unknown[]>(QUEUE, (job, token) => this.#process(job, processor, token), {
      connection: redisConnection(this.#options.url),
      prefix: this.#prefix,
      concurrency: this.#options.concurrency,
      ...(this.#options.lockDurationMs ? { lockDuration: this.#options.lockDurationMs } : {}),
      ...(this.#options.stalledIntervalMs ? { stalledInterval: this.#options.stalledIntervalMs } : {}),
    })
    this.#worker.on('error', () => undefined) // connection errors are retried by ioredis; do not crash the process
  }

  /** BullMQ's Worker.close waits for the jobs it is running and takes no new ones. */
  async stopIntake(): Promise<void> {
    await this.#worker?.close()
  }

  stats(model: string) {
    const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>
    for (const job of this.#seen.values()) if (job.model === model) counts[job.status]++
    return { counts, queueDepth: counts.queued }
  }

  async close(): Promise<void> {
    this.#closing = true
    // in-process runs stop; #process puts them back to wait so the next start runs them again
    for (const { controller } of this.#running.values()) controller.abort(new CarafeError('SHUTTING_DOWN'))
    await this.#worker?.close()
    await this.#queue.close()
    this.#client.disconnect()
  }

  async #process(job: Job<JobData, unknown[]>, processor: JobProcessor, token: string | undefined): Promise<unknown[]> {
    const id = job.id!
    const canceledKey = this.#key('canceled', id)
    if (await this.#client.exists(canceledKey)) return [] // canceled in the race with remove(); its canceled record wins
    const run = { controller: new AbortController(), progress: 0 }
    this.#running.set(id, run)
    this.#seen.set(id, { model: job.data.model, status: 'running' })
    const poll = setInterval(() => {
      void this.#client.exists(canceledKey).then(
        (n) => {
          if (n) run.controller.abort()
        },
        () => undefined,
      )
    }, CANCEL_POLL_MS).unref()
    try {
      const record = this.#record(job, 'running')
      const result = await processor(record, {
        signal: run.controller.signal,
        onProgress: (fraction) => {
          run.progress = fraction
          void job.updateProgress(fraction).catch(() => undefined)
        },
      })
      if (!run.controller.signal.aborted)
        this.#finished({ ...record, status: 'succeeded', result, progress: 1, finishedAt: new Date().toISOString() })
      return run.controller.signal.aborted ? [] : result
    } catch (error) {
      const refused = (error as CarafeError).code === 'SHUTTING_DOWN' // the process is stopping: not the job's fault
      if ((this.#closing || refused) && !(await this.#client.exists(canceledKey))) {
        if (refused) void this.stopIntake() // taking the job again would only be refused again
        await job.moveToWait(token)
        throw new WaitingError()
      }
      if (run.controller.signal.aborted) return [] // canceled: the canceled record is what get() returns
      const code = (error as CarafeError).code
      const jobError: JobError = {
        code: isErrorCode(code) ? code : 'PREDICTION_FAILED',
        message: (error as Error).message,
      }
      await job.updateData({ ...job.data, error: jobError })
      this.#finished({ ...this.#record(job, 'failed'), error: jobError, finishedAt: new Date().toISOString() })
      throw new UnrecoverableError(jobError.message) // no BullMQ retries: a failed prediction fails the job
    } finally {
      clearInterval(poll)
      this.#running.delete(id)
    }
  }

  #finished(record: JobRecord): void {
    this.#note(record)
    this.#options.onFinished?.(record)
  }

  #note(record: JobRecord): JobRecord {
    this.#seen.set(record.id, { model: record.model, status: record.status })
    return record
  }

  #record(job: Job<JobData, unknown[]>, status: JobStatus): JobRecord {
    const { model, instances, webhook, idempotencyKey, bodyHash, error } = job.data
    const local = this.#running.get(job.id!)
    const progress =
      status === 'succeeded'
        ? 1
        : status === 'queued'
          ? 0
          : (local?.progress ?? (typeof job.progress === 'number' ? job.progress : 0))
    return {
      id: job.id!,
      model,
      status,
      instances,
      progress,
      createdAt: new Date(job.timestamp).toISOString(),
      attempts: job.attemptsStarted ?? job.attemptsMade,
      ...(status === 'succeeded' ? { result: job.returnvalue } : {}),
      ...(status === 'failed' ? { error: error ?? { code: 'PREDICTION_FAILED', message: job.failedReason } } : {}),
      ...(webhook ? { webhook } : {}),
      ...(idempotencyKey !== undefined ? { idempotencyKey, bodyHash } : {}),
      ...(job.processedOn ? { startedAt: new Date(job.processedOn).toISOString() } : {}),
      ...(job.finishedOn ? { finishedAt: new Date(job.finishedOn).toISOString() } : {}),
    }
  }
}
