import type { Queue } from 'bullmq'
import { JOB_STATUSES, type JobStatus } from './store.js'

const EVERY_MS = 1000 // stats() is synchronous (metrics, model description): it answers counts read this recently
const IDLE_MS = 60_000 // nobody asked for this long (no scrape, no describe): stop reading

type Counts = { counts: Record<JobStatus, number>; queueDepth: number }

/**
 * BullMQ's own counts of the queue (`getJobCounts`), for the synchronous stats(): read every EVERY_MS in the
 * background while someone reads them, so a scrape every 15 s sees counts at most a second old (the very first read
 * answers zeros). Canceled jobs are not a BullMQ state, so they are not counted.
 */
export class RedisJobCounts {
  readonly #queue: Queue
  readonly #connected: () => boolean
  readonly #failed: (error: unknown) => void
  #last: Counts = { counts: zero(), queueDepth: 0 }
  #lastAsked = 0
  #timer: NodeJS.Timeout | undefined
  #reading = false

  constructor(queue: Queue, connected: () => boolean, failed: (error: unknown) => void) {
    this.#queue = queue
    this.#connected = connected
    this.#failed = failed
  }

  read(): Counts {
    this.#lastAsked = Date.now()
    if (!this.#timer) {
      this.#timer = setInterval(() => this.#tick(), EVERY_MS).unref()
      this.#refresh()
    }
    return this.#last
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  #tick(): void {
    if (Date.now() - this.#lastAsked > IDLE_MS) this.stop()
    else this.#refresh()
  }

  #refresh(): void {
    if (this.#reading || !this.#connected()) return // while Redis is away, the last counts stand
    this.#reading = true
    this.#queue
      .getJobCounts('waiting', 'delayed', 'prioritized', 'waiting-children', 'active', 'completed', 'failed')
      .then((c) => {
        const queued = (c.waiting ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0) + (c['waiting-children'] ?? 0)
        const counts = { ...zero(), queued, running: c.active ?? 0, succeeded: c.completed ?? 0, failed: c.failed ?? 0 }
        this.#last = { counts, queueDepth: queued }
      }, this.#failed)
      .finally(() => (this.#reading = false))
  }
}

const zero = () => Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>
