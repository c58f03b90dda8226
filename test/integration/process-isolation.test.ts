import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import type { ModelSettings } from '../../src/config/index.js'
import { loadAll } from '../../src/http/index.js'
import { get, post, startServer } from '../helpers/server.js'
import { fixture } from '../helpers/paths.js'

async function inProcess(name: string, settings: ModelSettings = {}) {
  const [descriptor] = await loadAll([join(fixture('handlers'), `${name}.ts`)])
  descriptor.settings = { ...descriptor.settings, isolation: 'process', ...settings }
  return [descriptor]
}

async function waitReady(url: string, name: string) {
  for (let i = 0; ; i++) {
    const { body } = await get(`${url}/v1/models/${name}`)
    if (body.state === 'ready') return body
    assert.ok(i < 300, `${name} never came back`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

test('isolation: process — process.exit in the model fails its request with RUNNER_CRASHED, the server stays up', async (t) => {
  const { url } = await startServer(await inProcess('exits'), { t })
  const exited = await post(`${url}/v1/models/exits:predict`, { instances: [42] })
  assert.equal(exited.status, 503)
  assert.equal(exited.body.error.code, 'RUNNER_CRASHED')
  assert.equal((await get(`${url}/healthz`)).status, 200)
  const next = await post(`${url}/v1/models/exits:predict`, { instances: [5] })
  assert.equal(next.status, 200, next.text)
  assert.equal((await waitReady(url, 'exits')).stats.restarts, 1)
})

test('isolation: process — unbounded allocation kills only the model process (heap capped by maxMemoryMb)', async (t) => {
  const { url } = await startServer(await inProcess('allocates', { maxMemoryMb: 64 }), { t })
  const oom = await post(`${url}/v1/models/allocates:predict`, { instances: [99] })
  assert.equal(oom.status, 503)
  assert.equal(oom.body.error.code, 'RUNNER_CRASHED')
  assert.equal((await get(`${url}/healthz`)).status, 200)
  const next = await post(`${url}/v1/models/allocates:predict`, { instances: [3] })
  assert.equal(next.status, 200, next.text)
  assert.deepEqual(next.body.predictions, [3])
})
