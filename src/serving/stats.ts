import type { BatchObserver } from '../batching/index.js'

/** Counters a model keeps for GET /v1/models/{name}; Prometheus metrics are fed separately. */
export class ModelStats implements BatchObserver {
  warmupMs = 0
  batches = 0
  rows = 0
  items = 0
  /** batch size (rows) → how many batches had it */
  readonly batchSizes = new Map<number, number>()
  #runMsTotal = 0
  readonly #listeners = new Set<BatchObserver['onBatch']>()

  /** Metrics subscribe here, so the serving layer knows nothing of Prometheus. */
  subscribe(listener: BatchObserver['onBatch']): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  onBatch(rows: number, items: number, runMs: number, waitsMs: number[]): void {
    for (const listener of this.#listeners) listener(rows, items, runMs, waitsMs)
    this.batches++
    this.items += items
    this.rows += rows
    this.#runMsTotal += runMs
    this.batchSizes.set(rows, (this.batchSizes.get(rows) ?? 0) + 1)
  }

  /** Mean time of one batch run, for Retry-After estimates. */
  get meanBatchMs(): number {
    return this.batches ? this.#runMsTotal / this.batches : 0
  }

  /** Rows a request carries on average, to turn a queue length into rows ahead. */
  get meanRowsPerItem(): number {
    return this.items ? this.rows / this.items : 1
  }

  snapshot() {
    return {
      warmupMs: round(this.warmupMs),
      batches: this.batches,
      rows: this.rows,
      meanBatchMs: round(this.meanBatchMs),
      batchSizes: Object.fromEntries([...this.batchSizes].sort((a, b) => a[0] - b[0])),
    }
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000
