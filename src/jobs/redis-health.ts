import type { JobStoreHealth } from './store.js'
import { isConnectionError } from './redis-connection.js'

export interface JobsLog {
  warn(obj: unknown, msg: string): void
  info?(obj: unknown, msg: string): void
}

// Errors that trail an outage (a worker connection whose retry fell just after Redis came back) belong to it.
const AFTER_OUTAGE_MS = 5000

/**
 * Whether Redis can be reached, from the connections' own events: one structured warning when an outage starts and
 * one line when it ends, however many connections and reconnection attempts fail in between.
 */
export class RedisHealth {
  readonly #log: JobsLog | undefined
  readonly #where: string
  #down: { since: number; error: string; errors: number } | undefined
  #recoveredAt = 0

  constructor(where: string, log: JobsLog | undefined) {
    this.#where = where
    this.#log = log
  }

  /** Any error a connection reports (ioredis 'error' events, a BullMQ Queue or Worker 'error', a failed command). */
  failed(error: Error, connection: string): void {
    if (!isConnectionError(error)) {
      this.#log?.warn(
        { err: { message: error.message, name: error.name }, connection, redis: this.#where },
        'Redis error',
      )
      return
    }
    if (this.#down) {
      this.#down.errors++
      return
    }
    if (Date.now() - this.#recoveredAt < AFTER_OUTAGE_MS) return
    const code = (error as { code?: string }).code
    this.#down = { since: Date.now(), error: error.message, errors: 1 }
    this.#log?.warn(
      { err: { message: error.message, ...(code ? { code } : {}) }, connection, redis: this.#where },
      'Redis is unavailable: job submits, polls and cancels answer 503 JOBS_UNAVAILABLE until it returns',
    )
  }

  /** The producer connection is ready (again). */
  ready(): void {
    if (!this.#down) return
    const { since, errors } = this.#down
    this.#down = undefined
    this.#recoveredAt = Date.now()
    this.#log?.info?.({ redis: this.#where, downMs: Date.now() - since, errors }, 'Redis is available again')
  }

  /** What /readyz shows; `connected` is the producer connection's own state. */
  health(connected: boolean): JobStoreHealth {
    if (connected) return { store: 'redis', available: true }
    return {
      store: 'redis',
      available: false,
      code: 'JOBS_UNAVAILABLE',
      ...(this.#down
        ? { since: new Date(this.#down.since).toISOString(), error: this.#down.error }
        : { error: 'not connected yet' }),
    }
  }
}
