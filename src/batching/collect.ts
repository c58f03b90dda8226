import type { BatchPolicy } from '../model/index.js'
import type { BoundedQueue } from './bounded-queue.js'
import { realClock, type Clock } from './clock.js'

/**
 * Wait for one item, then gather more until the batch holds `maxSize` rows or `maxDelayMs` has passed since
 * the first arrived. An item never splits: one larger than the room left starts the next batch.
 * Returns [] when the queue is closed and empty.
 */
export async function collectBatch<T>(
  queue: BoundedQueue<T>,
  { maxSize, maxDelayMs }: BatchPolicy,
  rowsOf: (item: T) => number,
  clock: Clock = realClock,
): Promise<T[]> {
  const first = await queue.take({ clock })
  if (first === undefined) return []
  const batch = [first]
  let rows = rowsOf(first)
  const deadline = clock.now() + maxDelayMs
  while (rows < maxSize) {
    const next = await queue.take({ until: deadline, clock })
    if (next === undefined) break
    if (rows + rowsOf(next) > maxSize) {
      queue.putBack(next)
      break
    }
    batch.push(next)
    rows += rowsOf(next)
  }
  return batch
}
