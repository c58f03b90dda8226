import { CarafeError, ERRORS, isErrorCode } from '../errors.js'
import type { BatchPolicy } from '../model/index.js'
import { allAbandoned, type Runner } from '../runtime/index.js'
import type { BoundedQueue } from './bounded-queue.js'
import { collectBatch } from './collect.js'
import { rowsOf, type WorkItem } from './work-item.js'

export interface BatchObserver {
  /** `waitsMs`: how long each item waited in the queue before its batch started. */
  onBatch(rows: number, items: number, runMs: number, waitsMs: number[]): void
}

/**
 * The loop between one model queue and one runner (a model with N workers runs N of these on one queue):
 * wait until the runner is up, collect a batch, drop what is expired or abandoned, run the rest as one call,
 * hand each item its slice. Ends when the queue is closed and drained, or closed while the runner is not ready (a runner
 * crash-looping in setup must not hold shutdown; what is left in the queue is the caller's to answer).
 */
export async function runBatcher(
  queue: BoundedQueue<WorkItem>,
  runner: Runner,
  policy: BatchPolicy,
  observer?: BatchObserver,
): Promise<void> {
  const window = new AdaptiveWindow()
  for (;;) {
    // a runner being restarted takes nothing from the queue, so its items go to a live runner or wait for the replacement
    if (
      runner.state !== 'ready' &&
      !(await Promise.race([
        runner.whenReady().then(
          () => true,
          () => false,
        ),
        queue.whenClosed().then(() => false),
      ]))
    )
      return
    const batch = await collectBatch(
      queue,
      window.worthWaiting() ? policy : { maxSize: policy.maxSize, maxDelayMs: 0 },
      rowsOf,
    )
    if (batch.length === 0) return
    window.observe(batch.length)
    if (runner.state !== 'ready') {
      for (const item of batch.reverse()) queue.putBack(item)
      continue
    }
    const live = batch.filter((item) => {
      const reason = refusal(item)
      if (reason) item.reject(reason)
      return !reason
    })
    if (live.length === 0) continue
    try {
      await runItems(runner, live, observer)
    } catch (error) {
      // one bad item must not fail its neighbours: run each alone so only the culprit gets the error
      if (live.length > 1 && blamesOneItem(error)) {
        for (const [i, item] of live.entries()) {
          // the failed attempt took time: an item past its deadline (or abandoned) is answered without running
          const reason = refusal(item)
          if (reason) {
            item.reject(reason)
            continue
          }
          const failure = await runItems(runner, [item], observer).then(
            () => undefined,
            (e: unknown) => e as Error,
          )
          if (!failure) continue
          item.reject(failure)
          // this item crashed or hung the runner: the ones after it never ran, so they wait for the replacement
          if (!blamesOneItem(failure)) {
            for (const rest of live.slice(i + 1).reverse()) queue.putBack(rest)
            break
          }
        }
      } else for (const item of live) item.reject(error as Error)
    }
  }
}

/**
 * Wait maxDelayMs for company only while requests overlap: a lone client would pay the whole window on every call
 * (measured: iris at one connection, 2,895 req/s without the window, 616 with it). Items per batch, as a moving
 * average, says whether requests overlap. No waiting is needed to notice load: requests that arrive while a batch runs
 * queue up and the next batch takes them all, which raises the average. (A probe that waited the window every 16th batch
 * cost a lone client 1/16 of the window per request on average: iris at c=1, 0.84× the req/s of batching off.)
 */
class AdaptiveWindow {
  #itemsPerBatch = 2 // start by waiting: batching on is what the model asked for

  observe(items: number): void {
    this.#itemsPerBatch = 0.9 * this.#itemsPerBatch + 0.1 * items
  }

  worthWaiting(): boolean {
    return this.#itemsPerBatch > 1.2
  }
}

async function runItems(runner: Runner, items: WorkItem[], observer?: BatchObserver): Promise<void> {
  const inputs = items.length === 1 ? items[0].instances : items.flatMap((item) => item.instances)
  const one = items.length === 1 ? items[0] : undefined
  const started = performance.now()
  const busyUntil = Math.max(...items.map((item) => item.busyUntil ?? 0))
  const outputs = await runner.run(inputs, {
    onProgress: one?.onProgress,
    // cancel the run once nobody waits for any of it (deadline passed or client gone)
    signal: one ? one.signal : allAbandoned(items.map((item) => item.signal)),
    busyUntil: busyUntil > 0 ? busyUntil : undefined,
  })
  observer?.onBatch(
    inputs.length,
    items.length,
    performance.now() - started,
    items.map((item) => started - item.enqueuedAt),
  )
  let offset = 0
  for (const item of items) {
    item.resolve(outputs.slice(offset, offset + item.instances.length))
    offset += item.instances.length
  }
}

/** A model failure or a client error (a bad image found in the runner) belongs to one item; a crash or hang does not. */
function blamesOneItem(error: unknown): boolean {
  const code = (error as CarafeError)?.code
  return code === 'PREDICTION_FAILED' || (isErrorCode(code) && ERRORS[code].status < 500)
}

function refusal(item: WorkItem): CarafeError | undefined {
  if (item.signal?.aborted)
    return new CarafeError('DEADLINE_EXCEEDED', 'The request was abandoned before the model ran')
  if (performance.now() > item.deadline) return new CarafeError('DEADLINE_EXCEEDED')
  return undefined
}
