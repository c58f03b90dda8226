import type { CancelSignal } from '../runtime/index.js'

/** One request's (or job's) instances waiting for the model. */
export interface WorkItem {
  instances: unknown[]
  /** performance.now() time after which the answer is useless. */
  deadline: number
  enqueuedAt: number
  /** A background job's deadline: its run may be busy this long before the runner counts as hung (see RunOptions). */
  busyUntil?: number
  signal?: CancelSignal
  onProgress?: (fraction: number) => void
  resolve(outputs: unknown[]): void
  reject(error: Error): void
}

export const rowsOf = (item: WorkItem): number => item.instances.length
