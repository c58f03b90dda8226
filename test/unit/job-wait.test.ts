import assert from 'node:assert/strict'
import { it } from 'node:test'
import {
  isNewer,
  jobChanges,
  waitForJob,
  type JobListener,
  type JobRecord,
  type JobStore,
} from '../../src/jobs/index.js'

const record = (status: JobRecord['status'], progress = 0): JobRecord => ({
  id: 'j',
  model: 'm',
  status,
  instances: [],
  progress,
  createdAt: '2026-01-01T00:00:00.000Z',
  attempts: 0,
})

/** A store whose one job and its notices the test drives; it counts live subscriptions. */
function fakeStore(current: JobRecord) {
  const listeners = new Set<JobListener>()
  const store = {
    get: async (id: string) => (id === current.id ? current : undefined),
    watch: (_id: string, listener: JobListener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  } as unknown as JobStore
  return {
    store,
    listeners,
    tell: (job: JobRecord) => {
      for (const listener of [...listeners]) listener(job)
    },
  }
}

it('isNewer: a later status or more progress; nothing after a final state', () => {
  assert.ok(isNewer(record('running'), record('queued')))
  assert.ok(isNewer(record('running', 0.5), record('running', 0.2)))
  assert.ok(!isNewer(record('running', 0.2), record('running', 0.5)))
  assert.ok(!isNewer(record('queued'), record('running')))
  assert.ok(!isNewer(record('running', 0.9), record('succeeded', 1)))
  assert.ok(isNewer(record('canceled'), record('running', 0.9)))
})

it('jobChanges skips late and repeated notices, and ends (unsubscribed) when its signal fires', async () => {
  const { store, listeners, tell } = fakeStore(record('running', 0.5))
  const controller = new AbortController()
  const seen: string[] = []
  const done = (async () => {
    for await (const job of jobChanges(store, 'j', controller.signal)) {
      seen.push(`${job.status}:${job.progress}`)
      if (seen.length === 1) {
        tell(record('queued')) // late: the job was already running
        tell(record('running', 0.2)) // late
        tell(record('running', 0.5)) // repeated
        tell(record('running', 0.7))
      }
      if (job.progress === 0.7) controller.abort() // the client hangs up while the job still runs
    }
  })()
  await done
  assert.deepEqual(seen, ['running:0.5', 'running:0.7'])
  assert.equal(listeners.size, 0, 'the watch is removed when the stream ends')
})

it('waitForJob unsubscribes whether it ends with a final state, a timeout or its signal', async () => {
  const { store, listeners, tell } = fakeStore(record('running', 0.1))
  const finishing = waitForJob(store, 'j', { timeoutMs: 60_000 })
  await new Promise((resolve) => setImmediate(resolve))
  tell(record('succeeded', 1))
  assert.equal((await finishing)?.status, 'succeeded')
  assert.equal((await waitForJob(store, 'j', { timeoutMs: 1 }))?.status, 'running')
  const controller = new AbortController()
  const stopped = waitForJob(store, 'j', { timeoutMs: 60_000, signal: controller.signal })
  controller.abort()
  assert.equal((await stopped)?.progress, 0.1)
  assert.equal(listeners.size, 0)
})

it('waitForJob keeps a change told before its read answered, skips late notices, and answers undefined for an unknown id', async () => {
  const { store, listeners, tell } = fakeStore(record('running', 0.1))
  const early = waitForJob(store, 'j', { timeoutMs: 60_000 })
  tell(record('succeeded', 1)) // between the subscription and get(): the read still says running
  assert.equal((await early)?.status, 'succeeded')
  const late = waitForJob(store, 'j', { timeoutMs: 60_000 })
  await new Promise((resolve) => setImmediate(resolve))
  tell(record('queued')) // late: the job was already running
  tell(record('running', 0.05)) // late
  tell(record('failed'))
  assert.equal((await late)?.status, 'failed')
  assert.equal(await waitForJob(store, 'other', { timeoutMs: 60_000 }), undefined)
  assert.equal(listeners.size, 0)
})
