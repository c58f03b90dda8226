import assert from 'node:assert/strict'
import { it } from 'node:test'
import { BoundedQueue, collectBatch, type Clock } from '../../src/batching/index.js'

/** A clock that moves only when told to, so batching is tested without sleeping. */
function fakeClock() {
  let now = 0
  const timers: { at: number; fn: () => void }[] = []
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const timer = { at: now + ms, fn }
      timers.push(timer)
      return timer
    },
    clearTimeout: (handle) => {
      const i = timers.indexOf(handle as (typeof timers)[number])
      if (i >= 0) timers.splice(i, 1)
    },
  }
  const advance = async (ms: number) => {
    now += ms
    for (const timer of timers.filter((t) => t.at <= now)) {
      timers.splice(timers.indexOf(timer), 1)
      timer.fn()
    }
    await new Promise((resolve) => setImmediate(resolve))
  }
  return { clock, advance }
}

const one = () => 1

it('takes what is waiting up to maxSize without waiting', async () => {
  const queue = new BoundedQueue<number>(100)
  for (let i = 0; i < 10; i++) queue.push(i)
  const { clock } = fakeClock()
  assert.deepEqual(await collectBatch(queue, { maxSize: 4, maxDelayMs: 5 }, one, clock), [0, 1, 2, 3])
  assert.equal(queue.length, 6)
})

it('waits up to maxDelayMs after the first item for more', async () => {
  const queue = new BoundedQueue<number>(100)
  const { clock, advance } = fakeClock()
  queue.push(1)
  const batch = collectBatch(queue, { maxSize: 8, maxDelayMs: 5 }, one, clock)
  await advance(0) // the first item is taken at t=0: the window closes at t=5
  await advance(2)
  queue.push(2)
  await advance(2)
  queue.push(3)
  await advance(2) // 6 ms after the first: the window closed
  queue.push(4)
  assert.deepEqual(await batch, [1, 2, 3])
  assert.equal(queue.length, 1)
})

it('counts rows, and never splits an item: one too large starts the next batch', async () => {
  const queue = new BoundedQueue<number[]>(100)
  queue.push([1, 2, 3])
  queue.push([4, 5])
  queue.push([6])
  const { clock } = fakeClock()
  const rows = (item: number[]) => item.length
  assert.deepEqual(await collectBatch(queue, { maxSize: 4, maxDelayMs: 0 }, rows, clock), [[1, 2, 3]])
  assert.deepEqual(await collectBatch(queue, { maxSize: 4, maxDelayMs: 0 }, rows, clock), [[4, 5], [6]])
})

it('a bounded queue refuses past its capacity and drains after close', async () => {
  const queue = new BoundedQueue<number>(2)
  assert.equal(queue.push(1), true)
  assert.equal(queue.push(2), true)
  assert.equal(queue.push(3), false)
  queue.close()
  assert.equal(queue.push(4), false)
  const { clock } = fakeClock()
  assert.deepEqual(await collectBatch(queue, { maxSize: 8, maxDelayMs: 1 }, one, clock), [1, 2])
  assert.deepEqual(await collectBatch(queue, { maxSize: 8, maxDelayMs: 1 }, one, clock), [])
})
