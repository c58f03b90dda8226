import { realClock, type Clock } from './clock.js'

/** FIFO with a capacity; takers wait for an item, optionally only until a time. */
export class BoundedQueue<T> {
  #items: T[] = []
  #head = 0
  #waiters: { wake: (item: T | undefined) => void }[] = []
  #closed = false
  #onClosed: { promise: Promise<void>; resolve: () => void } | undefined
  readonly capacity: number

  constructor(capacity: number) {
    this.capacity = capacity
  }

  get length(): number {
    return this.#items.length - this.#head
  }

  get closed(): boolean {
    return this.#closed
  }

  /** False when the queue is full or closed: the caller refuses the work instead of waiting. `overCapacity`: admitted elsewhere. */
  push(item: T, { overCapacity = false }: { overCapacity?: boolean } = {}): boolean {
    if (this.#closed) return false
    const waiter = this.#waiters.shift()
    if (waiter) {
      waiter.wake(item)
      return true
    }
    if (this.length >= this.capacity && !overCapacity) return false
    this.#items.push(item)
    return true
  }

  /** Return an item to the head, ahead of everything (a batch had no room for it). */
  putBack(item: T): void {
    if (this.#head > 0) this.#items[--this.#head] = item
    else this.#items.unshift(item)
  }

  peek(): T | undefined {
    return this.length > 0 ? this.#items[this.#head] : undefined
  }

  /** Take the oldest item, waiting for one; resolves undefined at `until` (clock time) or when the queue closes. */
  take({ until, clock = realClock }: { until?: number; clock?: Clock } = {}): Promise<T | undefined> {
    if (this.length > 0) return Promise.resolve(this.#shift())
    if (this.#closed) return Promise.resolve(undefined)
    if (until !== undefined && until <= clock.now()) return Promise.resolve(undefined)
    return new Promise((resolve) => {
      let timer: unknown
      const waiter = {
        wake: (item: T | undefined) => {
          if (timer !== undefined) clock.clearTimeout(timer)
          resolve(item)
        },
      }
      this.#waiters.push(waiter)
      if (until !== undefined) {
        timer = clock.setTimeout(() => {
          const index = this.#waiters.indexOf(waiter)
          if (index >= 0) this.#waiters.splice(index, 1)
          resolve(undefined)
        }, until - clock.now())
      }
    })
  }

  /** Remove every waiting item matching `predicate` (expired, abandoned); returns them. */
  removeWhere(predicate: (item: T) => boolean): T[] {
    const kept: T[] = []
    const removed: T[] = []
    for (let i = this.#head; i < this.#items.length; i++)
      (predicate(this.#items[i]) ? removed : kept).push(this.#items[i])
    this.#items = kept
    this.#head = 0
    return removed
  }

  /** Resolves once close() is called. */
  whenClosed(): Promise<void> {
    if (this.#closed) return Promise.resolve()
    if (!this.#onClosed) {
      let resolve!: () => void
      const promise = new Promise<void>((r) => (resolve = r))
      this.#onClosed = { promise, resolve }
    }
    return this.#onClosed.promise
  }

  /** Stop accepting; waiting takers get undefined once the items run out. */
  close(): void {
    this.#closed = true
    this.#onClosed?.resolve()
    if (this.length === 0) for (const waiter of this.#waiters.splice(0)) waiter.wake(undefined)
  }

  #shift(): T {
    const item = this.#items[this.#head++]
    // compact now and then so a long-lived queue does not keep a growing dead prefix
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    if (this.#closed && this.length === 0) for (const waiter of this.#waiters.splice(0)) waiter.wake(undefined)
    return item
  }
}
