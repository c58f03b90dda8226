import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadAll } from '../../src/http/index.js'
import { get, post, startServer } from '../helpers/server.js'
import { fixture } from '../helpers/paths.js'

test('while a handler burns CPU for 2 s, /healthz answers and a second worker keeps serving', async (t) => {
  const [descriptor] = await loadAll([join(fixture('handlers'), 'burns-cpu.ts')])
  descriptor.settings = { ...descriptor.settings, workers: 2 }
  const { url } = await startServer([descriptor], { t })
  assert.equal((await get(`${url}/v1/models/burns-cpu`)).body.workers, 2)

  let burnDone = false
  const burn = post(`${url}/v1/models/burns-cpu:predict`, { instances: [2000] }).then((r) => {
    burnDone = true
    return r
  })
  await new Promise((resolve) => setTimeout(resolve, 100)) // let the burn reach a runner
  // ordering, not timing: each of these answers while the burn is still running
  for (let i = 0; i < 5; i++) {
    const health = await get(`${url}/healthz`)
    assert.equal(health.status, 200)
  }
  const quick = await post(`${url}/v1/models/burns-cpu:predict`, { instances: [1] })
  assert.equal(quick.status, 200)
  assert.deepEqual(quick.body.predictions, [1])
  assert.equal(
    burnDone,
    false,
    'the burn finished before /healthz and the other worker answered: the test proved nothing',
  )
  const burned = await burn
  assert.equal(burned.status, 200)
  assert.deepEqual(burned.body.predictions, [2000])
})
