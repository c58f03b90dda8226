import assert from 'node:assert/strict'
import { it } from 'node:test'
import { fixture } from '../helpers/paths.js'
import { get, post, startServer } from '../helpers/server.js'

it('setup runs once across hundreds of requests', async (t) => {
  const server = await startServer(fixture('handlers/echo.ts'), { t })
  const requests = Array.from({ length: 300 }, (_, i) =>
    post(`${server.url}/v1/models/echo:predict`, { instances: [{ x: i }] }),
  )
  const answers = await Promise.all(requests)
  assert.ok(answers.every((a, i) => a.status === 200 && a.body.predictions[0].y === 2 * i))
  const setups = server.logs.filter((line) => line.msg === 'setup ran')
  assert.equal(setups.length, 1)
})

it('/readyz answers 503 until the model has loaded and warmed up, /healthz 200 all along', async (t) => {
  process.env.SLOW_SETUP_MS = '1500'
  const server = await startServer(fixture('handlers/slow-setup.ts'), { t, waitReady: false })
  const early = await get(`${server.url}/readyz`)
  assert.equal(early.status, 503)
  assert.equal(early.body.models['slow-setup'], 'loading')
  assert.equal((await get(`${server.url}/healthz`)).status, 200)
  const refused = await post(`${server.url}/v1/models/slow-setup:predict`, { instances: [1] })
  assert.equal(refused.status, 503)
  assert.equal(refused.body.error.code, 'NOT_READY')
  await server.carafe.started
  const late = await get(`${server.url}/readyz`)
  assert.equal(late.status, 200)
  assert.equal(late.body.models['slow-setup'], 'ready')
  // the warm-up prediction ran before readiness: one batch of one sample is already counted
  const described = await get(`${server.url}/v1/models/slow-setup`)
  assert.ok(described.body.stats.warmupMs >= 0)
  assert.equal(
    (await post(`${server.url}/v1/models/slow-setup:predict`, { instances: [1, 2] })).body.predictions.join(),
    '2,3',
  )
})
