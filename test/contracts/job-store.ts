import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CarafeError } from '../../src/errors.js'
import type { JobRecord, JobProcessor, JobStore } from '../../src/jobs/index.js'

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

/** The JobStore behaviour, run against every implementation (STYLE habit 2). */
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
        assert.equal(store.stats('m').queueDepth, 1)
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
        assert.equal(store.stats('m').counts.succeeded, 1)
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
          second.start(async () => ['again'])
          await until('rerun', async () => (await statusOf(second, interrupted.id)) === 'succeeded')
          assert.deepEqual((await second.get(interrupted.id))?.result, ['again'])
        } finally {
          await second.close()
        }
      }))
  })
}
