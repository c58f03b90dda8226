import type { JobRecord } from './store.js'

const MAX_ENTRIES = 4096
const MAX_BYTES = 16 * 1024 * 1024

interface Entry {
  record: JobRecord
  /** When the key in Redis expires at the latest: taken before the write was sent, so never after Redis drops it. */
  expiresAt: number
  bytes: number
}

/**
 * The final records this process wrote (a run's outcome, a cancel), so a poll of a job it just finished needs no
 * Redis read. A final record never changes once written (SET NX), so the copy is exact until it expires; it is
 * dropped no later than Redis drops the key, and the oldest go first when the count or the size bound is reached.
 * Other processes read Redis: they never saw the write.
 */
export class FinalRecords {
  readonly #entries = new Map<string, Entry>()
  readonly #maxEntries: number
  readonly #maxBytes: number
  #bytes = 0

  constructor(maxEntries = MAX_ENTRIES, maxBytes = MAX_BYTES) {
    this.#maxEntries = maxEntries
    this.#maxBytes = maxBytes
  }

  /** `stored` is the JSON written to Redis: the copy kept is what a read from Redis would give. */
  add(id: string, stored: string, expiresAt: number, parse: (stored: string) => JobRecord): void {
    if (stored.length > this.#maxBytes) return
    this.#drop(id)
    this.#entries.set(id, { record: parse(stored), expiresAt, bytes: stored.length })
    this.#bytes += stored.length
    for (const [oldest] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries && this.#bytes <= this.#maxBytes) break
      this.#drop(oldest)
    }
  }

  get(id: string, now = Date.now()): JobRecord | undefined {
    const entry = this.#entries.get(id)
    if (!entry) return undefined
    if (entry.expiresAt > now) return { ...entry.record } // a caller's change never reaches the copy
    this.#drop(id)
    return undefined
  }

  get size(): number {
    return this.#entries.size
  }

  clear(): void {
    this.#entries.clear()
    this.#bytes = 0
  }

  #drop(id: string): void {
    const entry = this.#entries.get(id)
    if (!entry) return
    this.#entries.delete(id)
    this.#bytes -= entry.bytes
  }
}
