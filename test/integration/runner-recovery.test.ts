import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { assertNoStack, get, post, startServer } from '../helpers/server.js'
import { fixture } from '../helpers/paths.js'
import { waitForState } from '../helpers/poll.js'

const handler = (name: string) => join(fixture('handlers'), `${name}.ts`)

test('a handler that spins forever: 504 by its deadline, the runner is replaced past hangTimeoutMs, queued work goes to the replacement', async (t) => {
  const { url, logs } = await startServer(handler('spins'), {
    t,
    config: { models: { spins: { hangTimeoutMs: 1500 } } },
  })
  const started = Date.now()
  const stuck = post(`${url}/v1/models/spins:predict`, { instances: [666] }, { 'x-carafe-timeout-ms': '500' })
  await new Promise((resolve) => setTimeout(resolve, 50))
  const queued = post(`${url}/v1/models/spins:predict`, { instances: [7] }) // waits behind the stuck one
  const first = await stuck
  assert.equal(first.status, 504)
  assert.equal(first.body.error.code, 'DEADLINE_EXCEEDED')
  assertNoStack(first.text)
  assert.ok(Date.now() - started < 500 + 1000, `answered ${Date.now() - started} ms after a 500 ms deadline`)
  const second = await queued
  assert.equal(second.status, 200, second.text)
  assert.deepEqual(second.body.predictions, [7])
  const next = await post(`${url}/v1/models/spins:predict`, { instances: [8] })
  assert.equal(next.status, 200)
  const model = await waitForState(url, 'spins', 'ready', 15_000)
  assert.equal(model.stats.restarts, 1)
  assert.ok(logs.some((line) => line.msg === 'runner busy past its hang threshold; terminating and replacing it'))
  assert.equal((await get(`${url}/healthz`)).status, 200)
})

test('a runner that dies of an uncaught error: 503 RUNNER_CRASHED, restarting (the replica stays ready), then recovers by itself', async (t) => {
  const { url } = await startServer(handler('crashes'), { t })
  const crashed = await post(`${url}/v1/models/crashes:predict`, { instances: [13] })
  assert.equal(crashed.status, 503)
  assert.equal(crashed.body.error.code, 'RUNNER_CRASHED')
  assertNoStack(crashed.text)
  // setup takes 300 ms after a 100 ms back-off: the model has no runner right now, but it is within its restart grace
  const restarting = await get(`${url}/readyz`)
  assert.equal(restarting.status, 200)
  assert.equal(restarting.body.models.crashes, 'restarting')
  assert.equal((await get(`${url}/v2/models/crashes/ready`)).status, 400, 'the model itself has no live runner')
  const model = await waitForState(url, 'crashes', 'ready', 15_000)
  assert.equal(model.stats.restarts, 1)
  assert.equal((await get(`${url}/readyz`)).status, 200)
  const next = await post(`${url}/v1/models/crashes:predict`, { instances: [1] })
  assert.equal(next.status, 200)
  assert.deepEqual(next.body.predictions, [1])
})

test('a handler that calls process.exit: 503 RUNNER_CRASHED, the server stays up, the next request succeeds', async (t) => {
  const { url } = await startServer(handler('exits'), { t })
  const exited = await post(`${url}/v1/models/exits:predict`, { instances: [42] })
  assert.equal(exited.status, 503)
  assert.equal(exited.body.error.code, 'RUNNER_CRASHED')
  assert.equal((await get(`${url}/healthz`)).status, 200)
  const next = await post(`${url}/v1/models/exits:predict`, { instances: [5] }) // queued until the replacement is up
  assert.equal(next.status, 200, next.text)
  assert.equal((await waitForState(url, 'exits', 'ready', 15_000)).stats.restarts, 1)
})

test('a handler that throws fails only its own request with 500 PREDICTION_FAILED', async (t) => {
  const { url } = await startServer(handler('throws'), { t })
  const failed = await post(`${url}/v1/models/throws:predict`, { instances: [1] })
  assert.equal(failed.status, 500)
  assert.equal(failed.body.error.code, 'PREDICTION_FAILED')
  assertNoStack(failed.text)
  const ok = await post(`${url}/v1/models/throws:predict`, { instances: [0] })
  assert.equal(ok.status, 200)
  assert.equal((await get(`${url}/v1/models/throws`)).body.stats.restarts, 0)
})
