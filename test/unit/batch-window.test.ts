import assert from 'node:assert/strict'
import { it } from 'node:test'
import { BoundedQueue, runBatcher, type WorkItem } from '../../src/batching/index.js'
import type { Runner } from '../../src/runtime/index.js'

/** A runner that answers every run at once and counts the batches it was given. */
function instantRunner(): Runner & { batches: number[] } {
  const batches: number[] = []
  return {
    batches,
    state: 'ready',
    restarts: 0,
    start: async () => ({ warmupMs: 0 }),
    whenReady: async () => undefined,
    run: async (inputs) => {
      batches.push(inputs.length)
      return inputs
    },
    close: async () => undefined,
  }
}

function submit(queue: BoundedQueue<WorkItem>, x: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const now = performance.now()
    queue.push({ instances: [x], deadline: now + 600_000, enqueuedAt: now, resolve, reject })
  })
}

const WINDOW_MS = 50

it('a lone client stops paying the batching window once requests are seen not to overlap', async () => {
  const queue = new BoundedQueue<WorkItem>(100)
  const runner = instantRunner()
  const waits: number[] = []
  const loop = runBatcher(
    queue,
    runner,
    { maxSize: 64, maxDelayMs: WINDOW_MS },
    { onBatch: (_rows, _items, _runMs, waitsMs) => waits.push(...waitsMs) },
  )
  // batching on starts by waiting for company; a few lone requests teach the loop that nobody comes
  for (let i = 0; i < 30; i++) assert.deepEqual(await submit(queue, i), [i])
  waits.length = 0
  for (let i = 0; i < 100; i++) assert.deepEqual(await submit(queue, i), [i])
  queue.close()
  await loop
  assert.deepEqual(runner.batches.slice(-100), Array(100).fill(1))
  // a wait as long as the window means the loop held a lone request for company (a probe every 16th batch did, 6 times)
  const held = waits.filter((ms) => ms >= WINDOW_MS * 0.8)
  assert.ok(held.length < 3, `${held.length} of 100 lone requests waited the window: ${held.map(Math.round)}`)
})

it('requests that overlap still share batches after a lone stretch', async () => {
  const queue = new BoundedQueue<WorkItem>(100)
  const runner = instantRunner()
  const loop = runBatcher(queue, runner, { maxSize: 8, maxDelayMs: WINDOW_MS })
  for (let i = 0; i < 30; i++) await submit(queue, i)
  // eight at once: the loop takes the first alone, then finds the other seven queued behind it
  const together = await Promise.all(Array.from({ length: 8 }, (_, i) => submit(queue, i)))
  assert.deepEqual(
    together,
    Array.from({ length: 8 }, (_, i) => [i]),
  )
  queue.close()
  await loop
  assert.ok(
    runner.batches.slice(30).some((size) => size > 1),
    `no shared batch: ${runner.batches.slice(30)}`,
  )
})
