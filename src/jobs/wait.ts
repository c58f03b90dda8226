import { isFinal, type JobRecord, type JobStatus, type JobStore } from './store.js'

const RANK: Record<JobStatus, number> = { queued: 0, running: 1, succeeded: 2, failed: 2, canceled: 2 }

/**
 * Whether `next` is further along than `last`: a later status, or more progress in the same one. Watchers get changes
 * late or twice (a Redis event and the get() that follows it can cross), and a client must never see a job go back.
 */
export function isNewer(next: JobRecord, last: JobRecord | undefined): boolean {
  if (!last) return true
  if (isFinal(last.status)) return false
  const step = RANK[next.status] - RANK[last.status]
  return step > 0 || (step === 0 && next.progress > last.progress)
}

/**
 * The job's states as they change: the current one first, then each newer one, ending after a final state or when
 * the signal fires. Yields nothing for an unknown id.
 */
export async function* jobChanges(store: JobStore, id: string, signal?: AbortSignal): AsyncGenerator<JobRecord> {
  const pending: JobRecord[] = []
  let wake: (() => void) | undefined
  const unsubscribe = store.watch(id, (job) => {
    pending.push(job)
    wake?.()
  })
  const onAbort = () => wake?.()
  signal?.addEventListener('abort', onAbort)
  try {
    const found = await store.get(id) // after subscribing: a change in between is in pending, or in this
    if (!found) return
    const current = { ...found } // the embedded store's records change in place
    let last = current
    yield current
    while (!isFinal(last.status) && !signal?.aborted) {
      if (pending.length === 0) await new Promise<void>((resolve) => (wake = resolve))
      wake = undefined
      for (const job of pending.splice(0)) {
        if (!isNewer(job, last)) continue
        last = job
        yield job
        if (isFinal(job.status)) return
      }
    }
  } finally {
    signal?.removeEventListener('abort', onAbort)
    unsubscribe()
  }
}

/**
 * The job once it is final, or its latest state after `timeoutMs` or when the signal fires; undefined for an unknown
 * id. The long poll and `Prefer: wait` are this.
 */
export async function waitForJob(
  store: JobStore,
  id: string,
  { timeoutMs, signal }: { timeoutMs: number; signal?: AbortSignal },
): Promise<JobRecord | undefined> {
  const stop = new AbortController()
  const timer = setTimeout(() => stop.abort(), timeoutMs)
  const stopped = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal
  let latest: JobRecord | undefined
  try {
    for await (const job of jobChanges(store, id, stopped)) latest = job
  } finally {
    clearTimeout(timer)
  }
  return latest
}
