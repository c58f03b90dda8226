import { randomUUID } from 'node:crypto'
import { type ConnectionOptions, Queue, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq'
import { Redis } from 'ioredis'
import { CarafeError, isErrorCode } from '../errors.js'
import { idempotentJobId, isConnectionError, producerOptions, workerOptions } from './redis-connection.js'
import { type JobsLog, RedisHealth } from './redis-health.js'
import { RedisJobCounts } from './redis-counts.js'
import { FinalRecords } from './redis-finals.js'
import { RedisJobWatch } from './redis-watch.js'
import {
  isFinal,
  type JobError,
  type JobFinished,
  type JobListener,
  type JobRecord,
  type JobProcessor,
  type JobStatus,
  type JobStore,
  type JobStoreHealth,
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
  /** Outages (one warning each) and other Redis errors. */
  log?: JobsLog
}

interface JobData {
  model: string
  version?: string
  instances: unknown[]
  webhook?: string
  idempotencyKey?: string
  bodyHash?: string
}

/** The first final outcome of a job, as stored; `by` tells a claim that was sent twice from a lost one. */
type FinalRecord = JobRecord & { by?: string }

interface Run {
  controller: AbortController
  progress: number
  /** The job as it started here: what a poll answers while it runs, with the progress above. */
  record: JobRecord
  /** The writer token of this run's outcome. */
  by: string
  /** Date.now() when this process took the job. */
  since: number
}

const QUEUE = 'carafe-jobs'
const CANCEL_POLL_MS = 250 // how late a worker in another process notices a cancel
// The final record also stops a second run of the job (after a stall), so it outlives BullMQ's stalled-job recovery
// (lockDuration + stalledInterval, 30 s each by default) even when jobRetentionMs is 0.
const MIN_FINAL_TTL_MS = 120_000
const OPEN_WAIT_MS = 2000 // start() without Redis: wait this long for a first connection, then serve and say so

/** A finished job says so in its hash: finishedOn, with failedReason when BullMQ itself failed it (stalled too often). */
function finishedState(job: Job<JobData, null>): JobStatus | undefined {
  if (!job.finishedOn) return undefined
  return job.failedReason ? 'failed' : 'succeeded'
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

/**
 * Jobs in Redis through BullMQ: any number of servers and `carafe worker`s share one queue. A job's final outcome
 * (succeeded, failed or canceled) is one key written with SET NX: whoever writes it first wins, sends the only
 * webhook, and a later run or cancel reads it instead.
 */
export class RedisJobStore implements JobStore {
  readonly #queue: Queue<JobData, null>
  readonly #options: RedisOptions
  /** The producer connection (shared with the Queue): fails fast while Redis is away. */
  readonly #client: Redis
  readonly #prefix: string
  readonly #health: RedisHealth
  readonly #counts: RedisJobCounts
  /** The jobs this process runs now: a poll answers them from here (after a look for a final record). */
  readonly #running = new Map<string, Run>()
  readonly #finals = new FinalRecords()
  #worker: Worker<JobData, null> | undefined
  /** The worker side's own keys: waits for Redis like the Worker does, so a finished run is recorded after an outage. */
  #patient: Redis | undefined
  #watch: RedisJobWatch | undefined
  /** Looks for cancels of long runs made elsewhere; runs while something runs here. */
  #sweep: NodeJS.Timeout | undefined
  #intakeStopped = false
  #closing = false

  private constructor(
    queue: Queue<JobData, null>,
    client: Redis,
    options: RedisOptions,
    prefix: string,
    health: RedisHealth,
  ) {
    this.#queue = queue
    this.#client = client
    this.#options = options
    this.#prefix = prefix
    this.#health = health
    this.#counts = new RedisJobCounts(
      queue,
      () => this.#client.status === 'ready',
      (error) => this.#failed(error, 'queue'),
    )
  }

  /** Never hangs on a Redis that is down: waits OPEN_WAIT_MS at most, then serves (job routes answer 503 until it returns). */
  static async open(options: RedisOptions): Promise<RedisJobStore> {
    const url = new URL(options.url)
    const query = url.searchParams
    const prefix = options.prefix ?? (query.get('prefix') || 'carafe')
    const ms = (name: string) => (Number(query.get(name)) > 0 ? Number(query.get(name)) : undefined)
    options = {
      ...options,
      lockDurationMs: options.lockDurationMs ?? ms('lockDuration'),
      stalledIntervalMs: options.stalledIntervalMs ?? ms('stalledInterval'),
    }
    const health = new RedisHealth(`${url.hostname}:${url.port || 6379}${url.pathname}`, options.log)
    const client = new Redis(producerOptions(options.url))
    client.on('error', (error: Error) => health.failed(error, 'queue'))
    client.on('ready', () => health.ready())
    // skipVersionCheck: the version check's INFO could fail after 'ready' and leave the Queue broken for good
    const queue = new Queue<JobData, null>(QUEUE, { connection: client, prefix, skipVersionCheck: true })
    queue.on('error', (error) => health.failed(error, 'queue'))
    const store = new RedisJobStore(queue, client, options, prefix, health)
    await store.#firstConnection()
    return store
  }

  async #firstConnection(): Promise<void> {
    if (this.#client.status === 'ready') return
    let done: () => void = () => undefined
    const settled = new Promise<void>((resolve) => (done = resolve))
    const timer = setTimeout(done, OPEN_WAIT_MS)
    this.#client.once('ready', done)
    this.#client.once('error', done) // refused: no use waiting, the warning is logged
    await settled
    clearTimeout(timer)
    this.#client.off('ready', done)
    this.#client.off('error', done)
  }

  #key(id: string) {
    return `${this.#prefix}:${QUEUE}:carafe-final:${id}`
  }

  get #finalTtlMs() {
    return Math.max(this.#options.retentionMs, MIN_FINAL_TTL_MS)
  }

  async submit({ model, version, instances, webhook, idempotencyKey, bodyHash }: JobSubmission): Promise<JobRecord> {
    if (this.#closing) throw new CarafeError('SHUTTING_DOWN')
    const id = idempotencyKey === undefined ? randomUUID() : idempotentJobId(idempotencyKey)
    const data: JobData = {
      model,
      ...(version !== undefined ? { version } : {}),
      instances,
      ...(webhook ? { webhook } : {}),
      ...(idempotencyKey !== undefined ? { idempotencyKey, bodyHash } : {}),
    }
    const retention = { age: Math.ceil(this.#options.retentionMs / 1000) }
    return this.#call(async () => {
      const job = await this.#queue.add(model, data, {
        jobId: id,
        attempts: 1,
        removeOnComplete: retention,
        removeOnFail: retention,
      })
      if (idempotencyKey === undefined) return this.#record(job, 'queued')
      // BullMQ leaves an existing job of that id as it is: its stored body hash tells a replay from a reuse of the key
      const existing = await this.#read(id)
      if (!existing) return this.#record(job, 'queued') // already past its retention
      if (existing.bodyHash !== bodyHash)
        throw new CarafeError(
          'IDEMPOTENCY_CONFLICT',
          `Idempotency-Key "${idempotencyKey}" was used for job ${existing.id} with a different body; use a new key`,
        )
      return existing
    })
  }

  get(id: string): Promise<JobRecord | undefined> {
    return this.#call(() => this.#read(id))
  }

  async #read(id: string): Promise<JobRecord | undefined> {
    // finished here: the record this process wrote, no Redis read (kept no longer than the key in Redis)
    const finished = this.#finals.get(id)
    if (finished) return finished
    // running here: only a final record written elsewhere (a cancel on another replica) can change what we know
    const run = this.#running.get(id)
    if (run) {
      const final = await this.#client.get(this.#key(id))
      if (!final) return { ...run.record, progress: run.progress }
      const record = this.#final(final)
      if ((JSON.parse(final) as FinalRecord).by !== run.by) run.controller.abort() // canceled elsewhere: stop now
      return record
    }
    // one round trip for most polls: the final record and the job hash together, the state read from the hash
    const [final, job] = await Promise.all([this.#client.get(this.#key(id)), this.#queue.getJob(id)])
    if (final) return this.#final(final)
    if (!job) return undefined
    const known = finishedState(job)
    if (known || !job.processedOn) return this.#record(job, known ?? 'queued')
    // Taken: a worker's lock says it runs now (BullMQ sets it when a job becomes active, drops it when the job
    // leaves). Without one the job is back in the wait list, stalled, or finished since the first read: only
    // BullMQ's getState (a script reading every list) tells, and a finished one has its final record by then.
    if (await this.#client.exists(`${this.#queue.toKey(id)}:lock`)) return this.#record(job, 'running')
    const state = STATE[await job.getState()] ?? 'queued'
    if (state !== 'succeeded' && state !== 'failed') return this.#record(job, state)
    const now = await this.#client.get(this.#key(id))
    if (now) return this.#final(now)
    const again = await this.#queue.getJob(id)
    return again ? this.#record(again, finishedState(again) ?? state) : undefined
  }

  cancel(id: string): Promise<JobRecord | undefined> {
    return this.#call(async () => {
      const current = await this.#read(id)
      if (!current || isFinal(current.status)) return current
      const record: JobRecord = { ...current, status: 'canceled', finishedAt: new Date().toISOString() }
      delete record.result
      // finished while we read: its outcome (and result) stands, and its run sent the webhook
      if (!(await this.#claim(this.#client, record))) return this.#read(id)
      this.#running.get(id)?.controller.abort()
      this.#options.onFinished?.(record)
      // a queued job leaves the wait list; 0 when a worker just took it, whose run then sees the final record
      if (current.status === 'queued') await this.#queue.remove(id).catch((error) => this.#failed(error, 'queue'))
      return record
    })
  }

  watch(id: string, listener: JobListener): () => void {
    this.#watch ??= new RedisJobWatch(
      QUEUE,
      workerOptions(this.#options.url) as ConnectionOptions,
      this.#prefix,
      (job) => this.get(job),
    )
    return this.#watch.add(id, listener)
  }

  start(processor: JobProcessor): void {
    if (this.#worker || this.#closing) return
    // auto-pipelined like the producer: a run's start check and outcome write join the other commands of their tick
    this.#patient = new Redis({ ...workerOptions(this.#options.url), enableAutoPipelining: true })
    this.#patient.on('error', (error: Error) => this.#failed(error, 'worker'))
    this.#worker = new Worker<JobData, null>(QUEUE, (job, token) => this.#process(job, processor, token), {
      connection: workerOptions(this.#options.url) as ConnectionOptions,
      prefix: this.#prefix,
      concurrency: this.#options.concurrency,
      ...(this.#options.lockDurationMs ? { lockDuration: this.#options.lockDurationMs } : {}),
      ...(this.#options.stalledIntervalMs ? { stalledInterval: this.#options.stalledIntervalMs } : {}),
    })
    // connection errors while Redis is away are one warning per outage; a job that lost its lock is a warning each
    this.#worker.on('error', (error) => this.#failed(error, 'worker'))
  }

  /** BullMQ's Worker.close waits for the jobs it is running and takes no new ones (without Redis: it cannot wait). */
  async stopIntake(): Promise<void> {
    this.#intakeStopped = true
    await this.#worker?.close(this.#client.status !== 'ready')
  }

  /** Counts for the whole queue (every model shares it), from BullMQ's own counts, refreshed in the background. */
  stats(_model: string) {
    return this.#counts.read()
  }

  backlog(): number {
    return this.#counts.read().queueDepth
  }

  health(): JobStoreHealth {
    return this.#health.health(this.#client.status === 'ready')
  }

  async close(): Promise<void> {
    this.#closing = true
    this.#counts.stop()
    clearInterval(this.#sweep)
    // in-process runs stop; #process puts them back to wait so the next start runs them again
    for (const { controller } of this.#running.values()) controller.abort(new CarafeError('SHUTTING_DOWN'))
    // Without Redis nothing can be handed back (and BullMQ's graceful close waits for it): runs that stopped keep
    // their lock until it expires, and BullMQ's stalled-job check gives them to the next worker.
    await this.#worker?.close(this.#client.status !== 'ready')
    await this.#watch?.close()
    await this.#queue.close()
    this.#finals.clear()
    this.#patient?.disconnect()
    this.#client.disconnect()
  }

  /** Redis calls behind HTTP: refused at once while disconnected, and a lost connection is JOBS_UNAVAILABLE (503). */
  async #call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#client.status !== 'ready') throw unavailable()
    try {
      return await fn()
    } catch (error) {
      if (error instanceof CarafeError || !(isConnectionError(error) || this.#client.status !== 'ready')) throw error
      this.#failed(error as Error, 'queue')
      throw unavailable()
    }
  }

  #failed(error: unknown, connection: string): void {
    this.#health.failed(error instanceof Error ? error : new Error(String(error)), connection)
  }

  /** Write the job's final outcome unless one is there; true when this write is it (then kept for local polls). */
  async #claim(redis: Redis, record: JobRecord, by: string = randomUUID()): Promise<boolean> {
    const key = this.#key(record.id)
    const stored = JSON.stringify({ ...record, instances: [], by } satisfies FinalRecord)
    const ttl = this.#finalTtlMs
    const expiresAt = Date.now() + ttl // before the write is sent: the copy never outlives the key
    let ours = (await redis.set(key, stored, 'PX', ttl, 'NX')) === 'OK'
    if (!ours) {
      // the patient connection resends a write whose answer an outage lost: then the record there is ours
      const existing = await redis.get(key)
      ours = existing !== null && (JSON.parse(existing) as FinalRecord).by === by
    }
    if (ours) this.#finals.add(record.id, stored, expiresAt, (json) => this.#final(json))
    return ours
  }

  /** A run's outcome: the webhook is sent only when this run's outcome is the job's (not canceled first). */
  async #settle(record: JobRecord, by: string): Promise<boolean> {
    if (!(await this.#claim(this.#patient!, record, by))) return false
    this.#options.onFinished?.(record)
    return true
  }

  async #process(job: Job<JobData, null>, processor: JobProcessor, token: string | undefined): Promise<null> {
    const id = job.id!
    const patient = this.#patient!
    const finalKey = this.#key(id)
    const by = randomUUID()
    const record = { ...this.#record(job, 'running'), progress: 0 }
    const run: Run = { controller: new AbortController(), progress: 0, record, by, since: Date.now() }
    // BullMQ made the job active for this process: from here its polls answer from the run, not from Redis's hash
    this.#running.set(id, run)
    this.#sweepCancels()
    try {
      // canceled, or finished by an earlier run whose completion BullMQ lost (its lock expired during an outage)
      if (await patient.exists(finalKey)) return null
      // the Worker may fetch a job while its close is under way: it waits for the next process to take it
      if (this.#intakeStopped) {
        await job.moveToWait(token)
        throw new WaitingError()
      }
      // canceled or closing while the start check was on its way: the catch below tells which
      run.controller.signal.throwIfAborted()
      const result = await processor(record, {
        signal: run.controller.signal,
        onProgress: (fraction) => {
          run.progress = fraction
          void job.updateProgress(fraction).catch((error) => this.#failed(error, 'worker'))
        },
      })
      await this.#settle(
        { ...record, status: 'succeeded', result, progress: 1, finishedAt: new Date().toISOString() },
        by,
      )
      return null
    } catch (error) {
      if (error instanceof WaitingError) throw error
      const finished = await patient.exists(finalKey)
      const refused = (error as CarafeError).code === 'SHUTTING_DOWN' // the process is stopping: not the job's fault
      if ((this.#closing || refused) && !finished) {
        if (refused) void this.stopIntake() // taking the job again would only be refused again
        await job.moveToWait(token)
        throw new WaitingError()
      }
      if (finished) return null // canceled: the canceled record is the outcome
      const code = (error as CarafeError).code
      const jobError: JobError = {
        code: isErrorCode(code) ? code : 'PREDICTION_FAILED',
        message: (error as Error).message,
      }
      const failed = { ...record, status: 'failed' as const, error: jobError, finishedAt: new Date().toISOString() }
      if (await this.#settle(failed, by)) throw new UnrecoverableError(jobError.message) // BullMQ counts it as failed
      return null
    } finally {
      this.#running.delete(id)
    }
  }

  /**
   * A cancel sent to another process shows here as the job's final record: one sweep for all runs looks for it, and
   * only for runs older than half the poll period (most jobs finish sooner), so a cancel is noticed within
   * CANCEL_POLL_MS as with a timer per run, without a timer and a Redis call per job. Polls of a running job look too.
   */
  #sweepCancels(): void {
    if (this.#sweep) return
    const period = CANCEL_POLL_MS / 2
    this.#sweep = setInterval(() => {
      if (this.#running.size === 0) {
        clearInterval(this.#sweep)
        this.#sweep = undefined
        return
      }
      if (this.#client.status !== 'ready') return // the outage is logged by the connections
      const now = Date.now()
      for (const [id, run] of this.#running) {
        if (now - run.since < period) continue
        this.#client.exists(this.#key(id)).then(
          (n) => {
            if (n) run.controller.abort()
          },
          (error) => this.#failed(error, 'queue'),
        )
      }
    }, period).unref()
  }

  #final(stored: string): JobRecord {
    const { by: _by, ...record } = JSON.parse(stored) as FinalRecord
    return record
  }

  #record(job: Job<JobData, null>, status: JobStatus): JobRecord {
    const { model, version, instances, webhook, idempotencyKey, bodyHash } = job.data
    const local = this.#running.get(job.id!)
    const progress =
      status === 'queued' ? 0 : (local?.progress ?? (typeof job.progress === 'number' ? job.progress : 0))
    return {
      id: job.id!,
      model,
      ...(version !== undefined ? { version } : {}),
      status,
      instances,
      progress,
      createdAt: new Date(job.timestamp).toISOString(),
      attempts: job.attemptsStarted ?? job.attemptsMade,
      ...(status === 'failed' ? { error: { code: 'PREDICTION_FAILED', message: job.failedReason } } : {}),
      ...(webhook ? { webhook } : {}),
      ...(idempotencyKey !== undefined ? { idempotencyKey, bodyHash } : {}),
      ...(job.processedOn ? { startedAt: new Date(job.processedOn).toISOString() } : {}),
      ...(job.finishedOn ? { finishedAt: new Date(job.finishedOn).toISOString() } : {}),
    }
  }
}

const unavailable = () => new CarafeError('JOBS_UNAVAILABLE', undefined, undefined, 1)
