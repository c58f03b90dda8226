import assert from 'node:assert/strict'
import { it } from 'node:test'
import { example } from '../helpers/paths.js'
import { get, startServer } from '../helpers/server.js'

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
