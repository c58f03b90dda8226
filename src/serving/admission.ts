import { CarafeError } from '../errors.js'
import type { BatchPolicy } from '../model/index.js'
import type { ModelStats } from './stats.js'

/** Milliseconds until a request arriving now would start running, from the queue ahead and the observed batch time. */
export function estimateWaitMs(queued: number, stats: ModelStats, batch: BatchPolicy, workers: number): number {
  if (stats.batches === 0 || queued === 0) return 0 // nothing observed yet, or nothing ahead: no basis to refuse anyone
  const rowsAhead = queued * stats.meanRowsPerItem
  // +1: the batch each runner is busy with right now
  const batchesAhead = Math.ceil(rowsAhead / batch.maxSize) + 1
  return (batchesAhead * stats.meanBatchMs) / workers
}

/** Refuse at the door, before queueing: a full queue, or a deadline the queue ahead makes impossible. */
export function refuseEarly(
  name: string,
  { queued, capacity, budgetMs, waitMs }: { queued: number; capacity: number; budgetMs: number; waitMs: number },
): CarafeError | undefined {
  const retryAfter = Math.max(1, Math.ceil(waitMs / 1000))
  if (queued >= capacity) {
    return new CarafeError(
      'OVERLOADED',
      `The queue of model "${name}" is full (${capacity} waiting); retry later`,
      undefined,
      retryAfter,
    )
  }
  if (waitMs > budgetMs) {
    return new CarafeError(
      'OVERLOADED',
      `Model "${name}" cannot answer within ${budgetMs} ms: about ${Math.round(waitMs)} ms of work is queued ahead; retry later or allow more time`,
      undefined,
      retryAfter,
    )
  }
  return undefined
}
