import { CarafeError } from '../errors.js'
import type { BatchPolicy } from '../model/index.js'
import type { Runner } from '../runtime/index.js'
import type { BoundedQueue } from './bounded-queue.js'
import { collectBatch } from './collect.js'
import { rowsOf, type WorkItem } from './work-item.js'

export interface BatchObserver {
  onBatch(rows: number, items: number, runMs: number): void
}

/**
 * The loop between one model queue and one runner: collect a batch, drop what is expired or abandoned,
 * run the rest as one call, hand each item its slice. Ends when the queue is closed and drained.
 */
export async function runBatcher(queue: BoundedQueue<WorkItem>, runner: Runner, policy: BatchPolicy, observer?: BatchObserver): Promise<void> {
  for (;;) {
    const batch = await collectBatch(queue, policy, rowsOf)
    if (batch.length === 0) return
    await runner.whenReady().catch(() => undefined)
    const live = batch.filter((item) => {
      const reason = refusal(item)
      if (reason) item.reject(reason)
      return !reason
    })
    if (live.length === 0) continue
    const inputs = live.length === 1 ? live[0].instances : live.flatMap((item) => item.instances)
    const started = performance.now()
    try {
      const outputs = await runner.run(inputs, { onProgress: live.length === 1 ? live[0].onProgress : undefined, signal: live.length === 1 ? live[0].signal : undefined })
      observer?.onBatch(inputs.length, live.length, performance.now() - started)
      let offset = 0
      for (const item of live) {
        item.resolve(outputs.slice(offset, offset + item.instances.length))
        offset += item.instances.length
      }
    } catch (error) {
      for (const item of live) item.reject(error as Error)
    }
  }
}

function refusal(item: WorkItem): CarafeError | undefined {
  if (item.signal?.aborted) return new CarafeError('DEADLINE_EXCEEDED', 'The request was abandoned before the model ran')
  if (performance.now() > item.deadline) return new CarafeError('DEADLINE_EXCEEDED')
  return undefined
}
