import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CarafeError } from '../../src/errors.js'
import { jobChanges, waitForJob, type JobRecord, type JobProcessor, type JobStore } from '../../src/jobs/index.js'

/** One place for jobs: open() may be called again on the same place to simulate a restart. */
export interface JobStorePlace {
  open(): Promise<JobStore>
  remove(): Promise<void>
}

const until = async (what: string, check: () => Promise<boolean>, ms = 10_000) => {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
const statusOf = (store: JobStore, id: string) => store.get(id).then((job) => job?.status)

/** A runner the test steers: each job waits until released (or its signal fires). */
function steeredRunner() {
  const started: string[] = []
  const release = new Map<string, (outputs: unknown[]) => void>()
  const aborted: string[] = []
  const runner: JobProcessor = (job: JobRecord, { signal, onProgress }) =>
    new Promise((resolve, reject) => {
      started.push(job.id)
      onProgress(0.5)
      release.set(job.id, resolve)
      signal.addEventListener('abort', () => {
        aborted.push(job.id)
        reject(new Error('aborted'))
      })
    })
  return { runner, started, release, aborted }
}

/** The JobStore behaviour, run against every implementation. */
export function jobStoreContract(name: string, place: () => Promise<JobStorePlace>): void {
  describe(`JobStore (${name})`, () => {
    async function withStore(fn: (store: JobStore, p: JobStorePlace) => Promise<void>) {
      const p = await place()
      const store = await p.open()
      try {
        await fn(store, p)
      } finally {
        await store.close()
        await p.remove()
      }
    }

    it('returns a queued job by id with status "queued"', () =>
      withStore(async (store) => {
        const job = await store.submit({ model: 'm', instances: [1] })
        const got = await store.get(job.id)
        assert.equal(got?.status, 'queued')
        assert.equal(got?.model, 'm')
        assert.equal(await store.get('no-such-job'), undefined)
        // stats() is synchronous; a shared store (Redis) answers counts at most a moment old
        await until('queue depth 1', async () => store.stats('m').queueDepth === 1)
      }))

    it('runs a job to succeeded with its result and progress', () =>
      withStore(async (store) => {
        store.start(async (job, { onProgress }) => {
          onProgress(0.5)
          return (job.instances as number[]).map((x) => x * 2)
        })
        const job = await store.submit({ model: 'm', instances: [1, 2] })
        await until('succeeded', async () => (await statusOf(store, job.id)) === 'succeeded')
        const done = (await store.get(job.id))!
        assert.deepEqual(done.result, [2, 4])
        assert.equal(done.progress, 1)
        assert.ok(done.startedAt && done.finishedAt)
        await until('1 succeeded', async () => store.stats('m').counts.succeeded === 1)
      }))

    it('records a failure with its error code', () =>
      withStore(async (store) => {
        store.start(async () => {
          throw Object.assign(new Error('bad'), { code: 'PREDICTION_FAILED' })
        })
        const job = await store.submit({ model: 'm', instances: [1] })
        await until('failed', async () => (await statusOf(store, job.id)) === 'failed')
        assert.deepEqual((await store.get(job.id))!.error, { code: 'PREDICTION_FAILED', message: 'bad' })
      }))

    it('never runs a job that was cancelled while queued', () =>
      withStore(async (store) => {
        const steer = steeredRunner()
        const job = await store.submit({ model: 'm', instances: [1] })
        assert.equal((await store.cancel(job.id))?.status, 'canceled')
        store.start(steer.runner)
        const other = await store.submit({ model: 'm', instances: [2] })
        await until('the other job to start', async () => steer.started.includes(other.id))
        assert.ok(!steer.started.includes(job.id))
        assert.equal(await statusOf(store, job.id), 'canceled')
        assert.equal(await store.cancel('no-such-job'), undefined)
      }))

    it('fires the signal of a running job on cancel and discards its result', () =>
      withStore(async (store) => {
        const steer = steeredRunner()
        store.start(steer.runner)
        const job = await store.submit({ model: 'm', instances: [1] })
        await until('started', async () => steer.started.includes(job.id))
        assert.equal(await statusOf(store, job.id), 'running')
        assert.equal((await store.get(job.id))!.progress, 0.5)
        await store.cancel(job.id)
        await until('aborted', async () => steer.aborted.includes(job.id))
        steer.release.get(job.id)?.(['late'])
        const final = (await store.get(job.id))!
        assert.equal(final.status, 'canceled')
        assert.equal(final.result, undefined)
      }))

    it('returns the same job for the same idempotency key and body, and conflicts on another body', () =>
      withStore(async (store) => {
        const a = await store.submit({ model: 'm', instances: [1], idempotencyKey: 'k', bodyHash: 'h1' })
        const b = await store.submit({ model: 'm', instances: [1], idempotencyKey: 'k', bodyHash: 'h1' })
        assert.equal(a.id, b.id)
        await assert.rejects(store.submit({ model: 'm', instances: [2], idempotencyKey: 'k', bodyHash: 'h2' }), {
          code: 'IDEMPOTENCY_CONFLICT',
        })
      }))

    it('tells a watcher each change: running with progress, then the final record with its result', () =>
      withStore(async (store) => {
        const steer = steeredRunner()
        const job = await store.submit({ model: 'm', instances: [1] })
        const seen: JobRecord[] = []
        const unsubscribe = store.watch(job.id, (record) => seen.push(record))
        store.start(steer.runner)
        await until('running with progress seen', async () =>
          seen.some((r) => r.status === 'running' && r.progress === 0.5),
        )
        steer.release.get(job.id)!(['out'])
        await until('succeeded seen', async () => seen.some((r) => r.status === 'succeeded'))
        const final = seen.find((r) => r.status === 'succeeded')!
        assert.deepEqual(final.result, ['out'])
        assert.equal(final.progress, 1)
        unsubscribe()
      }))

    it('stops telling a watcher once it unsubscribes', () =>
      withStore(async (store) => {
        const steer = steeredRunner()
        store.start(steer.runner)
        const job = await store.submit({ model: 'm', instances: [1] })
        await until('started', async () => steer.started.includes(job.id))
        const gone: JobRecord[] = []
        store.watch(job.id, (record) => gone.push(record))()
        const kept: JobRecord[] = []
        store.watch(job.id, (record) => kept.push(record))
        steer.release.get(job.id)!(['out'])
        await until('the kept watcher sees succeeded', async () => kept.some((r) => r.status === 'succeeded'))
        assert.deepEqual(gone, [])
      }))

    it('waitForJob answers as soon as the job is final, or with its state when the time is up', () =>
      withStore(async (store) => {
        const steer = steeredRunner()
        store.start(steer.runner)
        assert.equal(await waitForJob(store, 'no-such-job', { timeoutMs: 10_000 }), undefined)
        const held = await store.submit({ model: 'm', instances: [1] })
        await until('started', async () => steer.started.includes(held.id))
        const timedOut = await waitForJob(store, held.id, { timeoutMs: 1 })
        assert.equal(timedOut?.status, 'running')
        const waiting = waitForJob(store, held.id, { timeoutMs: 60_000 })
        steer.release.get(held.id)!(['out'])
        const done = await waiting
        assert.equal(done?.status, 'succeeded')
        assert.deepEqual(done?.result, ['out'])
        // a final job answers at once, and a cancel ends a wait
        assert.equal((await waitForJob(store, held.id, { timeoutMs: 60_000 }))?.status, 'succeeded')
        const other = await store.submit({ model: 'm', instances: [2] })
        await until('started', async () => steer.started.includes(other.id))
        const canceling = waitForJob(store, other.id, { timeoutMs: 60_000 })
        await store.cancel(other.id)
        assert.equal((await canceling)?.status, 'canceled')
      }))

    it('jobChanges yields the current state, newer ones in order, the final one, and ends', () =>
      withStore(async (store) => {
        const steer = steeredRunner()
        const job = await store.submit({ model: 'm', instances: [1] })
        const states: string[] = []
        const done = (async () => {
          for await (const record of jobChanges(store, job.id)) {
            states.push(`${record.status}:${record.progress}`)
            if (record.status === 'running' && record.progress === 0.5) steer.release.get(job.id)!(['out'])
          }
        })()
        await until('the queued state', async () => states.length > 0)
        store.start(steer.runner)
        await done
        assert.equal(states[0], 'queued:0')
        assert.ok(states.includes('running:0.5'), states.join(' '))
        assert.equal(states.at(-1), 'succeeded:1')
        const again: string[] = []
        for await (const record of jobChanges(store, job.id)) again.push(record.status)
        assert.deepEqual(again, ['succeeded'])
        const none: unknown[] = []
        for await (const record of jobChanges(store, 'no-such-job')) none.push(record)
        assert.deepEqual(none, [])
      }))

    it('stopIntake starts no more jobs and resolves once the running one has finished', () =>
      withStore(async (store) => {
        const steer = steeredRunner()
        store.start(steer.runner)
        const running = await store.submit({ model: 'm', instances: [1] })
        await until('started', async () => steer.started.includes(running.id))
        let stopped = false
        const stopping = store.stopIntake().then(() => (stopped = true))
        const waiting = await store.submit({ model: 'm', instances: [2] }) // accepted, kept for later
        await new Promise((resolve) => setTimeout(resolve, 200))
        assert.equal(stopped, false, 'stopIntake waits for the running job')
        steer.release.get(running.id)!(['done'])
        await stopping
        assert.equal(await statusOf(store, running.id), 'succeeded')
        assert.deepEqual(steer.started, [running.id], 'nothing started after stopIntake')
        assert.equal(await statusOf(store, waiting.id), 'queued')
      }))

    it('a job refused because the process is stopping goes back to the queue, never failed', () =>
      withStore(async (first, p) => {
        let refusals = 0
        first.start(async () => {
          refusals++
          throw new CarafeError('SHUTTING_DOWN')
        })
        const job = await first.submit({ model: 'm', instances: [1] })
        await until('refused', async () => refusals > 0)
        await new Promise((resolve) => setTimeout(resolve, 200))
        assert.equal(await statusOf(first, job.id), 'queued')
        assert.equal(refusals, 1, 'refused once, then no more jobs are taken')
        await first.close()
        const second = await p.open()
        try {
          second.start(async () => ['ran'])
          await until('ran', async () => (await statusOf(second, job.id)) === 'succeeded')
        } finally {
          await second.close()
        }
      }))

    it('keeps queued jobs and succeeded results after a restart, and runs interrupted ones again', () =>
      withStore(async (first, p) => {
        const steer = steeredRunner()
        first.start(steer.runner)
        const finished = await first.submit({ model: 'm', instances: [1] })
        await until('started', async () => steer.started.includes(finished.id))
        steer.release.get(finished.id)!(['one'])
        await until('succeeded', async () => (await statusOf(first, finished.id)) === 'succeeded')
        const interrupted = await first.submit({ model: 'm', instances: [2] })
        await until('started', async () => steer.started.includes(interrupted.id))
        await first.close()

        const second = await p.open()
        try {
          assert.deepEqual((await second.get(finished.id))?.result, ['one'])
          assert.equal(await statusOf(second, interrupted.id), 'queued')
          const runs: string[] = []
          second.start(async (job) => {
            runs.push(job.id)
            return ['again']
          })
          await until('rerun', async () => (await statusOf(second, interrupted.id)) === 'succeeded')
          assert.deepEqual((await second.get(interrupted.id))?.result, ['again'])
          assert.deepEqual(runs, [interrupted.id], 'the finished job does not run again; the interrupted one once')
        } finally {
          await second.close()
        }
      }))

    it('runs every accepted job exactly once (counted in the processor), and never again after a restart', () =>
      withStore(async (first, p) => {
        const runs = new Map<string, number>()
        const counting: JobProcessor = async (job) => {
          runs.set(job.id, (runs.get(job.id) ?? 0) + 1)
          return [job.instances[0]]
        }
        first.start(counting)
        const ids: string[] = []
        for (let i = 0; i < 20; i++) ids.push((await first.submit({ model: 'm', instances: [i] })).id)
        const all = async (store: JobStore) => (await Promise.all(ids.map((id) => statusOf(store, id)))).join()
        await until('every job succeeded', async () => (await all(first)) === ids.map(() => 'succeeded').join())
        await first.close()
        const second = await p.open()
        try {
          second.start(counting)
          // a job submitted after the restart runs after any that were (wrongly) queued again
          const marker = await second.submit({ model: 'm', instances: ['marker'] })
          await until('the marker job', async () => (await statusOf(second, marker.id)) === 'succeeded')
          for (const [i, id] of ids.entries()) {
            assert.equal(runs.get(id), 1, `job ${i} ran ${runs.get(id)} times`)
            assert.deepEqual((await second.get(id))?.result, [i])
          }
          assert.equal(runs.get(marker.id), 1)
        } finally {
          await second.close()
        }
      }))
  })
}
