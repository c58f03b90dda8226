import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { fixture } from '../helpers/paths.js'
import { get, post, startServer } from '../helpers/server.js'

const sleeps = join(fixture('handlers'), 'sleeps.ts')

async function finished(url: string, id: string): Promise<any> {
  for (let i = 0; i < 3000; i++) {
    const { body } = await get(`${url}/v1/jobs/${id}`)
    if (['succeeded', 'failed', 'canceled'].includes(body.status)) return body
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`job ${id} never finished`)
}

test('accepted jobs wait their turn: 40 jobs through a model queue of 1 all succeed (never OVERLOADED)', async (t) => {
  const { url } = await startServer(sleeps, { t, config: { maxQueue: 1, jobConcurrency: 64 } })
  const ids: string[] = []
  for (let i = 0; i < 40; i++) {
    const submitted = await post(`${url}/v1/models/sleeps/jobs`, { instances: [20, 20, 20] })
    assert.equal(submitted.status, 202, submitted.text)
    ids.push(submitted.body.id)
  }
  const outcomes = await Promise.all(ids.map((id) => finished(url, id)))
  const failed = outcomes.filter((job) => job.status !== 'succeeded').map((job) => job.error?.code ?? job.status)
  assert.deepEqual(failed, [])
  // the sync path still refuses at the door: its queue of 1 is what it was
  const stats = (await get(`${url}/v1/models/sleeps`)).body.stats
  assert.ok(stats.batches >= 40, `ran ${stats.batches} batches`)
})

test('a submit past maxJobQueue waiting jobs is refused: 503 JOBS_OVERLOADED with Retry-After', async (t) => {
  const { url } = await startServer(sleeps, { t, config: { maxJobQueue: 3, jobConcurrency: 1 } })
  const ids: string[] = []
  // one runs (concurrency 1), three wait: the backlog is full
  for (let i = 0; i < 4; i++) {
    const submitted = await post(`${url}/v1/models/sleeps/jobs`, { instances: [5000] })
    assert.equal(submitted.status, 202, submitted.text)
    ids.push(submitted.body.id)
  }
  const refused = await post(`${url}/v1/models/sleeps/jobs`, { instances: [1] })
  assert.equal(refused.status, 503, refused.text)
  assert.equal(refused.body.error.code, 'JOBS_OVERLOADED')
  assert.ok(Number(refused.headers.get('retry-after')) >= 1, 'Retry-After is set')
  // a cancelled job leaves the backlog: there is room again
  await fetch(`${url}/v1/jobs/${ids[3]}`, { method: 'DELETE' })
  const admitted = await post(`${url}/v1/models/sleeps/jobs`, { instances: [1] })
  assert.equal(admitted.status, 202, admitted.text)
  for (const id of [...ids, admitted.body.id]) await fetch(`${url}/v1/jobs/${id}`, { method: 'DELETE' })
})
