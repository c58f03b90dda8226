import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, it, type TestContext } from 'node:test'
import { type JobRecord, RedisJobStore } from '../../src/jobs/index.js'
import { loudSkipReason, REDIS_URL, redisDown, removeKeys } from '../helpers/redis.js'

const down = await redisDown()
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

/** Two stores on one prefix, as two replicas: `worker` runs jobs, `api` answers clients; every final event counted. */
async function replicas(t: TestContext, retentionMs = 60_000) {
  const prefix = `carafe-test:${randomUUID()}`
  const finished: { id: string; status: string; from: string }[] = []
  const hooks: { worker?: (job: JobRecord) => void } = {}
  const open = (from: 'worker' | 'api') =>
    RedisJobStore.open({
      url: REDIS_URL,
      prefix,
      concurrency: 4,
      retentionMs,
      onFinished: (job) => {
        finished.push({ id: job.id, status: job.status, from })
        if (from === 'worker') hooks.worker?.(job)
      },
    })
  const worker = await open('worker')
  const api = await open('api')
  t.after(async () => {
    await worker.close()
    await api.close()
    await removeKeys(prefix)
  })
  return { worker, api, finished, hooks, prefix }
}

describe('Redis job store: one outcome per job', {
  skip: down && loudSkipReason('the redis atomicity tests', down),
}, () => {
  it('a cancel that arrives as the job completes gets the completed job, result kept, and sends no second webhook', async (t) => {
    const { worker, api, finished, hooks } = await replicas(t)
    let canceled: Promise<JobRecord | undefined> | undefined
    hooks.worker = (job) => {
      canceled = api.cancel(job.id) // the moment the run's outcome is announced
    }
    worker.start(async () => ['r'])
    const job = await api.submit({ model: 'm', instances: [1] })
    await until('the cancel', async () => canceled)
    const answer = await canceled!
    assert.equal(answer?.status, 'succeeded')
    assert.deepEqual(answer?.result, ['r'])
    await sleep(300) // a worker-side poll would notice a cancel flag within 250 ms
    assert.deepEqual(
      finished.filter((f) => f.id === job.id).map((f) => f.status),
      ['succeeded'],
    )
    assert.equal((await api.get(job.id))?.status, 'succeeded')
  })

  it('a run that completes just after a cancel is discarded: canceled stays, one webhook', async (t) => {
    const { worker, api, finished } = await replicas(t)
    let release: (outputs: unknown[]) => void = () => undefined
    let returned = false
    worker.start(
      () =>
        new Promise((resolve) => {
          // a model that cannot stop early: it ignores the abort signal
          release = (outputs) => {
            returned = true
            resolve(outputs)
          }
        }),
    )
    const job = await api.submit({ model: 'm', instances: [1] })
    await until('running', async () => ((await api.get(job.id))?.status === 'running' ? true : undefined))
    assert.equal((await api.cancel(job.id))?.status, 'canceled')
    release(['late'])
    await until('the run to return', async () => (returned ? true : undefined))
    await sleep(300)
    assert.deepEqual(
      finished.filter((f) => f.id === job.id).map((f) => f.status),
      ['canceled'],
    )
    const final = await api.get(job.id)
    assert.equal(final?.status, 'canceled')
    assert.equal(final?.result, undefined)
  })

  it('an idempotent submit whose add failed leaves no claim behind: its retries make one job', async (t) => {
    const { api } = await replicas(t)
    const submission = { model: 'm', idempotencyKey: 'm:retry-me', bodyHash: 'h' }
    // a value JSON cannot carry: the add fails after the key is known
    await assert.rejects(api.submit({ ...submission, instances: [10n] }))
    const first = await api.submit({ ...submission, instances: [1] })
    const second = await api.submit({ ...submission, instances: [1] })
    assert.equal(second.id, first.id)
    await until('one queued job', async () => (api.stats('m').queueDepth === 1 ? true : undefined))
  })

  it('jobRetentionMs 0: an idempotent submit is accepted, runs, and its result can be read', async (t) => {
    const { worker, api } = await replicas(t, 0)
    worker.start(async (job) => (job.instances as number[]).map((x) => x * 3))
    const job = await api.submit({ model: 'm', instances: [2], idempotencyKey: 'm:zero', bodyHash: 'h' })
    const done = await until('succeeded', async () => {
      const now = await api.get(job.id)
      return now?.status === 'succeeded' ? now : undefined
    })
    assert.deepEqual(done.result, [6])
    const again = await api.submit({ model: 'm', instances: [2], idempotencyKey: 'm:zero', bodyHash: 'h' })
    assert.equal(again.id, job.id)
  })

  it('stats count the shared queue: a replica that submitted nothing sees the jobs waiting', async (t) => {
    const { worker, api } = await replicas(t)
    assert.equal(worker.stats('m').queueDepth, 0) // a scraper's first look
    await api.submit({ model: 'm', instances: [1] })
    await api.submit({ model: 'm', instances: [2] })
    await sleep(3000) // a scraper's next look, a while later: counts read in the background since, not the last look's
    assert.equal(worker.stats('m').queueDepth, 2)
    assert.equal(worker.stats('m').counts.queued, 2)
  })
})

describe('Redis job store: a cancel made on another replica', {
  skip: down && loudSkipReason('the redis cross-replica cancel tests', down),
}, () => {
  it('shows at once in a poll of the replica that runs the job, and stops its run', async (t) => {
    const { worker, api, finished } = await replicas(t)
    const aborted: string[] = []
    worker.start(
      (job, { signal }) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            aborted.push(job.id)
            reject(new Error('aborted'))
          })
        }),
    )
    const job = await api.submit({ model: 'm', instances: [1] })
    await until('running', async () => ((await worker.get(job.id))?.status === 'running' ? true : undefined))
    assert.equal((await api.cancel(job.id))?.status, 'canceled')
    // the running replica answers its own runs without the job hash, but never past a final record
    assert.equal((await worker.get(job.id))?.status, 'canceled')
    await until('the run stopped', async () => (aborted.includes(job.id) ? true : undefined))
    assert.deepEqual(
      finished.filter((f) => f.id === job.id).map((f) => f.status),
      ['canceled'],
    )
  })

  it('stops a run that nobody polls there', async (t) => {
    const { worker, api } = await replicas(t)
    const aborted: string[] = []
    const started: string[] = []
    worker.start(
      (job, { signal }) =>
        new Promise((_resolve, reject) => {
          started.push(job.id)
          signal.addEventListener('abort', () => {
            aborted.push(job.id)
            reject(new Error('aborted'))
          })
        }),
    )
    const job = await api.submit({ model: 'm', instances: [1] })
    await until('started', async () => (started.includes(job.id) ? true : undefined))
    await sleep(300) // a run older than the sweep's threshold
    assert.equal((await api.cancel(job.id))?.status, 'canceled')
    await until('the run stopped', async () => (aborted.includes(job.id) ? true : undefined))
  })
})
