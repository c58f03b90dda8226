import { QueueEvents, type ConnectionOptions } from 'bullmq'
import { JobListeners } from './job-listeners.js'
import type { JobListener, JobRecord } from './store.js'

const RECHECK_MS = 1000 // a change whose event was missed (events read from "now" on start) shows this late at worst
const EVENTS = ['active', 'progress', 'completed', 'failed', 'removed'] as const

/**
 * watch() for the Redis store: BullMQ's queue events (one Redis stream, read by one blocking connection, opened on the
 * first watch) say which job changed, whichever process ran it; the job is then read again with the store's get().
 * A slow re-read of every watched job covers events lost before the stream reader started.
 */
export class RedisJobWatch {
  readonly #listeners = new JobListeners()
  readonly #events: QueueEvents
  readonly #get: (id: string) => Promise<JobRecord | undefined>
  readonly #recheck: NodeJS.Timeout

  constructor(
    queue: string,
    connection: ConnectionOptions,
    prefix: string,
    get: (id: string) => Promise<JobRecord | undefined>,
  ) {
    this.#get = get
    this.#events = new QueueEvents(queue, { connection, prefix })
    this.#events.on('error', () => undefined) // ioredis reconnects; the recheck covers the gap
    for (const event of EVENTS) this.#events.on(event, ({ jobId }: { jobId: string }) => this.#refresh(jobId))
    this.#recheck = setInterval(() => {
      for (const id of this.#listeners.ids()) this.#refresh(id)
    }, RECHECK_MS).unref()
  }

  add(id: string, listener: JobListener): () => void {
    return this.#listeners.add(id, listener)
  }

  async close(): Promise<void> {
    clearInterval(this.#recheck)
    await this.#events.close()
  }

  #refresh(id: string): void {
    if (!this.#listeners.has(id)) return
    void this.#get(id).then(
      (job) => {
        if (job) this.#listeners.emit(job)
      },
      () => undefined, // Redis down: the next event or recheck tries again
    )
  }
}
