import type { JobRecord } from './store.js'

/** What a client (or a webhook) sees of a job: never the stored instances or idempotency bookkeeping. */
export function jobView(job: JobRecord) {
  return {
    id: job.id,
    model: job.model,
    ...(job.version !== undefined ? { version: job.version } : {}),
    status: job.status,
    progress: job.progress,
    // the same body a synchronous :predict answers, so clients handle one shape
    ...(job.result !== undefined && job.status === 'succeeded' ? { result: { predictions: job.result } } : {}),
    ...(job.error ? { error: job.error } : {}),
    createdAt: job.createdAt,
    startedAt: job.startedAt ?? null,
    finishedAt: job.finishedAt ?? null,
    links: { self: `/v1/jobs/${job.id}` },
  }
}
