import type { JobListener, JobRecord } from './store.js'

/** Listeners by job id, for a store's watch(): the embedded store tells them each change, the Redis store relays. */
export class JobListeners {
  readonly #byId = new Map<string, Set<JobListener>>()

  add(id: string, listener: JobListener): () => void {
    const set = this.#byId.get(id) ?? new Set<JobListener>()
    this.#byId.set(id, set)
    set.add(listener)
    return () => {
      set.delete(listener)
      if (set.size === 0 && this.#byId.get(id) === set) this.#byId.delete(id)
    }
  }

  ids(): string[] {
    return [...this.#byId.keys()]
  }

  has(id: string): boolean {
    return this.#byId.has(id)
  }

  /** A copy per change: the embedded store mutates its records in place. A throwing listener never stops the others. */
  emit(job: JobRecord): void {
    const set = this.#byId.get(job.id)
    if (!set) return
    const snapshot = { ...job }
    for (const listener of [...set]) {
      try {
        listener(snapshot)
      } catch {
        // a listener's bug is its own; the store's state change already happened
      }
    }
  }
}
