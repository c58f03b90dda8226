import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import Fastify from 'fastify'
import { loadConfig } from '../../src/config/index.js'
import { replyWithError } from '../../src/http/errors.js'
import { jobRoutes } from '../../src/http/routes/jobs.js'
import { assertNoStack, get, post, startServer, type TestServer } from '../helpers/server.js'
import { fixture } from '../helpers/paths.js'
import { waitFor } from '../helpers/poll.js'

const SLOW = fixture('handlers/slow-progress.ts')

const del = async (url: string) => {
  const response = await fetch(url, { method: 'DELETE' })
  return { status: response.status, body: (await response.json()) as any }
}

describe('job routes (embedded store)', () => {
  let server: TestServer
  let dataDir: string
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'carafe-jobs-http-'))
    server = await startServer(SLOW, { config: { dataDir, jobConcurrency: 2 } })
  })
  after(async () => {
    await server.close()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('submits with 202, then polls to succeeded with the result', async () => {
    const created = await post(`${server.url}/v1/models/slow/jobs`, { instances: [{ ms: 20, tag: 'a' }] })
    assert.equal(created.status, 202)
    assert.equal(created.body.status, 'queued')
    assert.equal(created.body.links.self, `/v1/jobs/${created.body.id}`)
    const done = await waitFor(`${server.url}/v1/jobs/${created.body.id}`, (b) => b.status === 'succeeded')
    assert.equal(done.model, 'slow')
    assert.equal(done.progress, 1)
    assert.equal(done.result.predictions[0].tag, 'a')
    assert.ok(done.createdAt && done.startedAt && done.finishedAt)
  })

  it('shows progress while running', async () => {
    const { body } = await post(`${server.url}/v1/models/slow/jobs`, { instances: [{ ms: 3000 }] })
    const running = await waitFor(
      `${server.url}/v1/jobs/${body.id}`,
      (b) => b.status === 'running' && b.progress > 0 && b.progress < 1,
    )
    assert.ok(running.progress > 0)
    await del(`${server.url}/v1/jobs/${body.id}`)
  })

  it('rejects bad input at submit with 400, not a failed job later', async () => {
    const bad = await post(`${server.url}/v1/models/slow/jobs`, { instances: [{ ms: 'soon' }] })
    assert.equal(bad.status, 400)
    assert.equal(bad.body.error.code, 'INVALID_INPUT')
    assert.equal(
      (await post(`${server.url}/v1/models/nope/jobs`, { instances: [{ ms: 1 }] })).body.error.code,
      'MODEL_NOT_FOUND',
    )
  })

  it('reports a failing job with a clear error and no stack', async () => {
    const { body } = await post(`${server.url}/v1/models/slow/jobs`, { instances: [{ ms: -1 }] })
    const failed = await waitFor(`${server.url}/v1/jobs/${body.id}`, (b) => b.status === 'failed')
    assert.equal(failed.error.code, 'PREDICTION_FAILED')
    assert.equal(failed.result, undefined)
  })

  it('cancels a queued job (it never runs) and a running one (its result is discarded)', async () => {
    const running = await post(`${server.url}/v1/models/slow/jobs`, { instances: [{ ms: 5000 }] })
    const blocker = await post(`${server.url}/v1/models/slow/jobs`, { instances: [{ ms: 5000 }] })
    const queued = await post(`${server.url}/v1/models/slow/jobs`, { instances: [{ ms: 10 }] })
    await waitFor(`${server.url}/v1/jobs/${running.body.id}`, (b) => b.status === 'running')
    assert.equal((await get(`${server.url}/v1/jobs/${queued.body.id}`)).body.status, 'queued')
    assert.equal((await del(`${server.url}/v1/jobs/${queued.body.id}`)).body.status, 'canceled')
    const canceled = await del(`${server.url}/v1/jobs/${running.body.id}`)
    assert.equal(canceled.status, 200)
    assert.equal(canceled.body.status, 'canceled')
    await del(`${server.url}/v1/jobs/${blocker.body.id}`)
    const after = await get(`${server.url}/v1/jobs/${queued.body.id}`)
    assert.equal(after.body.startedAt, null)
    assert.equal((await get(`${server.url}/v1/jobs/${running.body.id}`)).body.result, undefined)
  })

  it('answers 404 JOB_NOT_FOUND for an unknown id', async () => {
    const { status, body, text } = await get(`${server.url}/v1/jobs/not-a-job`)
    assert.equal(status, 404)
    assert.equal(body.error.code, 'JOB_NOT_FOUND')
    assertNoStack(text)
    assert.equal((await del(`${server.url}/v1/jobs/not-a-job`)).status, 404)
  })

  it('honours Idempotency-Key: same body → same id, other body → 409', async () => {
    const key = { 'idempotency-key': 'order-42' }
    const a = await post(`${server.url}/v1/models/slow/jobs`, { instances: [{ ms: 1 }] }, key)
    const b = await post(`${server.url}/v1/models/slow/jobs`, { instances: [{ ms: 1 }] }, key)
    assert.equal(a.body.id, b.body.id)
    const c = await post(`${server.url}/v1/models/slow/jobs`, { instances: [{ ms: 2 }] }, key)
    assert.equal(c.status, 409)
    assert.equal(c.body.error.code, 'IDEMPOTENCY_CONFLICT')
  })

  it('answers 404 for any id not in the format jobs are given, without asking the store', async () => {
    const asked: string[] = []
    const store = {
      get: async (id: string) => void asked.push(id),
      cancel: async (id: string) => void asked.push(id),
    }
    const app = Fastify()
    app.setErrorHandler(replyWithError)
    await app.register(jobRoutes, { config: loadConfig(), registry: {}, jobs: store } as never)
    const bad = ['x'.repeat(90), 'A1B2C3D4-0000-0000-0000-000000000000', '*', '{a}:b', 'not-a-job', '%2e%2e']
    for (const id of bad) {
      for (const method of ['GET', 'DELETE'] as const) {
        const answer = await app.inject({ method, url: `/v1/jobs/${encodeURIComponent(id)}` })
        assert.equal(answer.statusCode, 404, `${method} ${id}: ${answer.body}`)
        assert.equal(answer.json().error?.code, 'JOB_NOT_FOUND', `${method} ${id}: ${answer.body}`)
      }
    }
    assert.deepEqual(asked, [], 'a malformed id reached the store')
    const real = randomUUID()
    assert.equal((await app.inject({ method: 'GET', url: `/v1/jobs/${real}` })).statusCode, 404)
    assert.deepEqual(asked, [real])
    await app.close()
  })

  it('scopes Idempotency-Key per API key: another key holder reusing it gets a job of their own', async (t) => {
    const keys = ['alice-key-000000000001', 'bob-key-0000000000002']
    const keyed = await startServer(SLOW, { t, config: { apiKeys: keys } })
    const submit = (apiKey: string) =>
      post(
        `${keyed.url}/v1/models/slow/jobs`,
        { instances: [{ ms: 1 }] },
        { authorization: `Bearer ${apiKey}`, 'idempotency-key': 'order-7' },
      )
    const alice = await submit(keys[0])
    const again = await submit(keys[0])
    const bob = await submit(keys[1])
    assert.equal(alice.status, 202)
    assert.equal(again.body.id, alice.body.id, 'the same key holder is answered with the same job')
    assert.equal(bob.status, 202)
    assert.notEqual(bob.body.id, alice.body.id, "bob's submission is not alice's job")
  })

  it('adds job counts and queue depth to the model stats', async () => {
    const { body } = await get(`${server.url}/v1/models/slow`)
    assert.ok(body.stats.jobs.counts.succeeded >= 1)
    assert.equal(typeof body.stats.jobs.queueDepth, 'number')
  })
})
