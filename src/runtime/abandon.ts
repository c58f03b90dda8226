import type { CancelSignal } from './runner.js'

/**
 * A cancellation fired by hand: the request's deadline passed or its client hung up. Cheaper than an AbortController
 * (no EventTarget), which matters once per request.
 */
export class Abandon implements CancelSignal {
  #aborted = false
  #listeners: (() => void)[] = []

  get aborted(): boolean {
    return this.#aborted
  }

  abort(): void {
    if (this.#aborted) return
    this.#aborted = true
    for (const listener of this.#listeners.splice(0)) listener()
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.#aborted) this.#listeners.push(listener) // as with AbortSignal, a listener added after the abort never runs
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const index = this.#listeners.indexOf(listener)
    if (index >= 0) this.#listeners.splice(index, 1)
  }
}

/** Aborts once every one of `signals` has (a batch is worth cancelling only when nobody waits for any of it). */
export function allAbandoned(signals: (CancelSignal | undefined)[]): CancelSignal | undefined {
  if (signals.length === 0 || signals.some((s) => s === undefined)) return undefined
  if (signals.length === 1) return signals[0]
  const all = new Abandon()
  let left = signals.length
  for (const signal of signals as CancelSignal[])
    signal.addEventListener(
      'abort',
      () => {
        if (--left === 0) all.abort()
      },
      { once: true },
    )
  return all
}
