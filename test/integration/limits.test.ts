import assert from 'node:assert/strict'
import { it } from 'node:test'
import { example } from '../helpers/paths.js'
import { sendRaw } from '../helpers/raw-http.js'
import { get, post, startServer } from '../helpers/server.js'

it('rate limits per client with 429 RATE_LIMITED and Retry-After; per named key limits', async (t) => {
  const { url } = await startServer(example('iris'), { t, config: { rateLimit: 2, keyRateLimits: {} } })
  assert.equal((await get(`${url}/v1/models`)).status, 200)
  assert.equal((await get(`${url}/v1/models`)).status, 200)
  const refused = await get(`${url}/v1/models`)
  assert.equal(refused.status, 429)
  assert.equal(refused.body.error.code, 'RATE_LIMITED')
  assert.ok(Number(refused.headers.get('retry-after')) >= 1)
  assert.equal((await get(`${url}/healthz`)).status, 200)
})

it('CORS is off by default and on for configured origins', async (t) => {
  const off = await startServer(example('iris'), { t })
  assert.equal(
    (await get(`${off.url}/v1/models`, { origin: 'https://a.example' })).headers.get('access-control-allow-origin'),
    null,
  )
  const on = await startServer(example('iris'), { t, config: { corsOrigins: ['https://a.example'] } })
  assert.equal(
    (await get(`${on.url}/v1/models`, { origin: 'https://a.example' })).headers.get('access-control-allow-origin'),
    'https://a.example',
  )
})

it('gives a named key its own limit', async (t) => {
  const { mkdtempSync, writeFileSync } = await import('node:fs')
  const { join } = await import('node:path')
  const { tmpdir } = await import('node:os')
  const file = join(mkdtempSync(join(tmpdir(), 'carafe-keys-')), 'keys.yaml')
  writeFileSync(file, 'tight: tight-key-000000000001\nroomy: roomy-key-000000000002\n')
  const { url } = await startServer(example('iris'), {
    t,
    config: { apiKeysFile: file, rateLimit: 5, keyRateLimits: { tight: 1 } },
  })
  const as = (key: string) => get(`${url}/v1/models`, { authorization: `Bearer ${key}` })
  assert.equal((await as('tight-key-000000000001')).status, 200)
  assert.equal((await as('tight-key-000000000001')).status, 429)
  for (let i = 0; i < 5; i++) assert.equal((await as('roomy-key-000000000002')).status, 200)
  assert.equal((await as('roomy-key-000000000002')).status, 429)
})

it('counts 4xx answers too, and refuses over the limit before reading the body', async (t) => {
  const server = await startServer(example('iris'), { t, config: { rateLimit: 3 } })
  const predict = `${server.url}/v1/models/iris:predict`
  for (let i = 0; i < 3; i++) {
    const malformed = await post(predict, '{"instances": [[1,', { 'content-type': 'application/json' })
    assert.equal(malformed.status, 400)
  }
  const limited = await post(predict, { instances: [[5.1, 3.5, 1.4, 0.2]] })
  assert.equal(limited.status, 429, 'the malformed requests counted')
  // headers promising 5 MB and a few bytes of body: only a limit checked before the body can answer
  const port = Number(new URL(server.url).port)
  const head = `POST /v1/models/iris:predict HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${5 * 1024 * 1024}\r\n\r\n{"instances":`
  const early = await sendRaw(port, Buffer.from(head), 15_000)
  assert.equal(early.status, 429, early.body.slice(0, 200))
  assert.equal(JSON.parse(early.body).error.code, 'RATE_LIMITED')
})

it('throttles failed API key checks per client address: 429 with Retry-After, even for a right key', async (t) => {
  const KEY = 'right-key-0123456789'
  const server = await startServer(example('iris'), { t, config: { apiKeys: [KEY], authFailureLimit: 5 } })
  const predict = (key: string) =>
    post(
      `${server.url}/v1/models/iris:predict`,
      { instances: [[5.1, 3.5, 1.4, 0.2]] },
      { authorization: `Bearer ${key}` },
    )
  assert.equal((await predict(KEY)).status, 200)
  const statuses: number[] = []
  for (let i = 0; i < 8; i++) statuses.push((await predict(`wrong-key-${i}-0123456789`)).status)
  assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429, 429])
  const locked = await predict(KEY)
  assert.equal(locked.status, 429)
  assert.equal(locked.body.error.code, 'RATE_LIMITED')
  assert.ok(Number(locked.headers.get('retry-after')) >= 1)
  // the docs pages share the throttle
  assert.equal((await get(`${server.url}/openapi.json`)).status, 429)
})
