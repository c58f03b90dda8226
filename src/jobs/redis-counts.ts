import type { Queue } from 'bullmq'
import { JOB_STATUSES, type JobStatus } from './store.js'

const MAX_AGE_MS = 1000 // stats() is synchronous (metrics, model description): it answers the last counts this fresh

type Counts = { counts: Record<JobStatus, number>; queueDepth: number }

/**
 * BullMQ's own counts of the queue (`getJobCounts`), for the synchronous stats(): read in the background when older
 * than MAX_AGE_MS or after a change. Canceled jobs are not a BullMQ state, so they are not counted.
 */
export class RedisJobCounts {
  readonly #queue: Queue
  readonly #connected: () => boolean
  readonly #failed: (error: unknown) => void
  #last: Counts = { counts: zero(), queueDepth: 0 }
  #readAt = 0
  #reading: Promise<void> | undefined

  constructor(queue: Queue, connected: () => boolean, failed: (error: unknown) => void) {
    this.#queue = queue
    this.#connected = connected
    this.#failed = failed
  }

  read(): Counts {
    if (Date.now() - this.#readAt > MAX_AGE_MS) this.#refresh()
    return this.#last
  }

  /** A job was added or finished: the next read starts a new count. */
  changed(): void {
    this.#readAt = 0
  }

  #refresh(): void {
    if (this.#reading || !this.#connected()) return
    this.#readAt = Date.now()
    this.#reading = this.#queue
      .getJobCounts('waiting', 'delayed', 'prioritized', 'waiting-children', 'active', 'completed', 'failed')
      .then((c) => {
        const queued = (c.waiting ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0) + (c['waiting-children'] ?? 0)
        const counts = { ...zero(), queued, running: c.active ?? 0, succeeded: c.completed ?? 0, failed: c.failed ?? 0 }
        this.#last = { counts, queueDepth: queued }
      }, this.#failed)
      .finally(() => (this.#reading = undefined))
  }
}

const zero = () => Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>
