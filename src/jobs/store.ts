import type { ErrorCode } from '../errors.js'

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled'
export const JOB_STATUSES: readonly JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'canceled']

export interface JobError {
  code: ErrorCode
  message: string
}

/** One background job as it is stored; the wire view is `jobView` in http/routes/jobs.ts. */
export interface JobRecord {
  id: string
  model: string
  /** The model version the job was submitted to; absent: the model's default version when it runs. */
  version?: string
  status: JobStatus
  instances: unknown[]
  progress: number
  result?: unknown[]
  error?: JobError
  webhook?: string
  idempotencyKey?: string
  /** Hash of the submitted body, to tell a replay from a conflicting reuse of an Idempotency-Key. */
  bodyHash?: string
  createdAt: string
  startedAt?: string
  finishedAt?: string
  /** How many times this job was started (a restart runs a running job again). */
  attempts: number
}

export interface JobSubmission {
  model: string
  version?: string
  instances: unknown[]
  webhook?: string
  idempotencyKey?: string
  bodyHash?: string
}

export interface JobRunOptions {
  signal: AbortSignal
  onProgress: (fraction: number) => void
}

/** Runs one job's instances through the model (ServedModel.predict in the server). */
export type JobProcessor = (job: JobRecord, options: JobRunOptions) => Promise<unknown[]>

/** Told a job's new state: its status or progress changed. */
export type JobListener = (job: JobRecord) => void

/** Called once a job reaches a final status (webhooks, metrics). */
export type JobFinished = (job: JobRecord) => void

/** Whether the store can take and answer jobs now; /readyz shows it (sync prediction does not depend on it). */
export interface JobStoreHealth {
  store: string
  available: boolean
  /** The code job routes answer while unavailable. */
  code?: ErrorCode
  since?: string
  error?: string
}

/** Where background jobs live and how they are dispatched; embedded (file) and redis (BullMQ) implement it. */
export interface JobStore {
  /**
   * Accept a job durably, then resolve. The same idempotencyKey with the same bodyHash returns the
   * existing job; with another bodyHash it throws IDEMPOTENCY_CONFLICT.
   */
  submit(submission: JobSubmission): Promise<JobRecord>
  get(id: string): Promise<JobRecord | undefined>
  /** Cancel a queued or running job; a finished job is returned unchanged. Undefined when unknown. */
  cancel(id: string): Promise<JobRecord | undefined>
  /** Start taking jobs with this processor (the server calls it once its models are ready). */
  start(processor: JobProcessor): void
  /**
   * First step of a shutdown: start no more jobs (the queued ones stay queued for the next start or another worker);
   * resolves once the jobs already running have finished.
   */
  stopIntake(): Promise<void>
  /** Counts by status for one model, and how many wait. */
  stats(model: string): { counts: Record<JobStatus, number>; queueDepth: number }
  /** Jobs accepted and not started yet, all models together: what submit admission (maxJobQueue) weighs. */
  backlog(): number
  /** Absent: always available (the embedded store has nothing to lose contact with). */
  health?(): JobStoreHealth
  /** Stop: jobs still running are aborted and go back to the queue, never `failed`. */
  close(): Promise<void>
  /**
   * Call listener with the job's record on changes of its status or progress, until the returned function is called.
   * Changes may be coalesced, repeated, or (from another process) late: subscribe, then read get(), and keep the most
   * advanced state (see `jobChanges` and `waitForJob` in wait.ts).
   */
  watch(id: string, listener: JobListener): () => void
}

export const isFinal = (status: JobStatus) => status === 'succeeded' || status === 'failed' || status === 'canceled'
