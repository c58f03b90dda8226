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
 * id. The long poll and `Prefer: wait` are this. The same steps as `jobChanges` (subscribe, then `get()`, keep only
 * newer states), written as one promise: the generator, its own AbortController and `AbortSignal.any` cost about as
 * much main-thread CPU as the rest of a waiting request's job handling.
 */
export function waitForJob(
  store: JobStore,
  id: string,
  { timeoutMs, signal }: { timeoutMs: number; signal?: AbortSignal },
): Promise<JobRecord | undefined> {
  return new Promise((resolve, reject) => {
    let latest: JobRecord | undefined
    let read = false
    let settled = false
    let timer: NodeJS.Timeout | undefined
    const early: JobRecord[] = [] // changes told before get() answered
    const finish = (error?: unknown) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      unsubscribe()
      if (error === undefined) resolve(latest)
      else reject(error)
    }
    const onAbort = () => finish()
    const unsubscribe = store.watch(id, (job) => {
      if (!read) {
        early.push(job)
        return
      }
      if (!isNewer(job, latest)) return
      latest = job
      if (isFinal(job.status)) finish()
    })
    store.get(id).then((found) => {
      if (!found) return finish()
      read = true
      latest = { ...found } // the embedded store's records change in place
      for (const job of early) if (isNewer(job, latest)) latest = job
      if (isFinal(latest.status) || signal?.aborted) return finish()
      timer = setTimeout(finish, timeoutMs)
      signal?.addEventListener('abort', onAbort, { once: true })
    }, finish)
  })
}
