import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { example, fixture } from '../helpers/paths.js'
import { assertNoStack, post, startServer, type TestServer } from '../helpers/server.js'

interface Call {
  model: string
  startedAt: number
  finishedAt: number
}

describe('composition through ctx.models', () => {
  let server: TestServer
  before(async () => {
    server = await startServer([example('fanout'), fixture('handlers/calls-echo.ts'), fixture('handlers/echo.ts')])
  })
  after(() => server?.close())
  const predict = (model: string, instances: unknown[]) =>
    post(`${server.url}/v1/models/${model}:predict`, { instances })

  it('serving examples/fanout brings up its four sources', async () => {
    const names = server.carafe.registry
      .list()
      .map((m) => m.name)
      .sort()
    assert.deepEqual(names, ['calls-echo', 'echo', 'fanout', 'popular', 'recent', 'similar', 'trending'])
  })

  it('fan-out: the four calls run at the same time, not one after another', async () => {
    const { status, body, text } = await predict('fanout', [{ user: 'ada', k: 3 }])
    assert.equal(status, 200, text)
    const calls: Call[] = body.predictions[0].calls
    assert.deepEqual(
      calls.map((c) => c.model),
      ['popular', 'recent', 'similar', 'trending'],
    )
    // Each source sleeps 300 ms; run one after another, each would start after the previous finished.
    const lastStart = Math.max(...calls.map((c) => c.startedAt))
    const firstFinish = Math.min(...calls.map((c) => c.finishedAt))
    assert.ok(lastStart < firstFinish, `calls did not overlap: ${JSON.stringify(calls)}`)
  })

  it('fan-out merges the sources: each item scores the sum of what the four models say', async () => {
    const [merged, ...sources] = await Promise.all([
      predict('fanout', [{ user: 'grace', k: 10 }]),
      ...['popular', 'recent', 'similar', 'trending'].map((m) => predict(m, [{ user: 'grace' }])),
    ])
    const items: { id: string; score: number }[] = merged.body.predictions[0].items
    assert.equal(items.length, 10)
    for (const { id, score } of items) {
      const sum = sources.reduce(
        (total, s) => total + s.body.predictions[0].items.find((i: { id: string }) => i.id === id).score,
        0,
      )
      assert.ok(Math.abs(sum - score) < 1e-3, `${id}: ${score} vs ${sum}`)
    }
    assert.deepEqual(
      items.map((i) => i.score),
      [...items.map((i) => i.score)].sort((a, b) => b - a),
    )
  })

  it('a call is validated by the called model, and its error code reaches the client', async () => {
    const ok = await predict('calls-echo', [{ x: 4 }])
    assert.equal(ok.status, 200, ok.text)
    assert.deepEqual(ok.body.predictions[0].answer, { y: 8, batchSize: 1 })
    const bad = await predict('calls-echo', [{ x: 'four' }])
    assert.equal(bad.status, 400, bad.text)
    assert.equal(bad.body.error.code, 'INVALID_INPUT')
    assertNoStack(bad.text)
    const missing = await predict('calls-echo', [{ x: 1, target: 'nope' }])
    assert.equal(missing.status, 404)
    assert.equal(missing.body.error.code, 'MODEL_NOT_FOUND')
  })

  it('a model calling itself fails at once instead of waiting on its own queue', async () => {
    const self = await predict('calls-echo', [{ x: 1, target: 'calls-echo' }])
    assert.equal(self.status, 500)
    assert.equal(self.body.error.code, 'PREDICTION_FAILED')
    assertNoStack(self.text)
  })
})

describe('composition with a remote Carafe server by URL', () => {
  let remote: TestServer
  let local: TestServer
  before(async () => {
    remote = await startServer([fixture('handlers/echo.ts'), example('fanout/sources/popular.ts')])
    local = await startServer(fixture('handlers/calls-echo.ts'))
  })
  after(async () => {
    await local?.close()
    await remote?.close()
  })
  const ask = (instance: unknown) => post(`${local.url}/v1/models/calls-echo:predict`, { instances: [instance] })

  it('calls the remote model and passes its refusals on with their code', async () => {
    const ok = await ask({ x: 5, target: `${remote.url}/v1/models/echo` })
    assert.equal(ok.status, 200, ok.text)
    assert.deepEqual(ok.body.predictions[0].answer, { y: 10, batchSize: 1 })
    const bad = await ask({ x: 'five', target: `${remote.url}/v1/models/echo` })
    assert.equal(bad.status, 400, bad.text)
    assert.equal(bad.body.error.code, 'INVALID_INPUT')
    const missing = await ask({ x: 5, target: `${remote.url}/v1/models/nope` })
    assert.equal(missing.status, 404)
    assert.equal(missing.body.error.code, 'MODEL_NOT_FOUND')
  })

  it('gives up on a slow remote model after the call timeout with 504 DEADLINE_EXCEEDED', async () => {
    // the popular source sleeps 300 ms
    const slow = await ask({ payload: { user: 'ada' }, target: `${remote.url}/v1/models/popular`, timeoutMs: 20 })
    assert.equal(slow.status, 504, slow.text)
    assert.equal(slow.body.error.code, 'DEADLINE_EXCEEDED')
    assertNoStack(slow.text)
  })
})
