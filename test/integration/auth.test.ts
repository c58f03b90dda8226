import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, mock } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { example } from '../helpers/paths.js'
import { get, post, startServer } from '../helpers/server.js'

const KEY = 'config-key-0123456789'
const BODY = { instances: [[5.1, 3.5, 1.4, 0.2]] }

describe('API keys', () => {
  it('refuses no key and a wrong key with 401 and WWW-Authenticate; accepts both header styles', async (t) => {
    const { url } = await startServer(example('iris'), { t, config: { apiKeys: [KEY] } })
    for (const headers of <Record<string, string>[]>[
      {},
      { authorization: 'Bearer wrong-key-000000000' },
      { 'x-api-token': 'short' },
      { authorization: `Basic ${KEY}` },
    ]) {
      const answer = await post(`${url}/v1/models/iris:predict`, BODY, headers)
      assert.equal(answer.status, 401, JSON.stringify(headers))
      assert.equal(answer.body.error.code, 'UNAUTHORIZED')
      assert.match(answer.headers.get('www-authenticate')!, /^Bearer/)
    }
    assert.equal((await post(`${url}/v1/models/iris:predict`, BODY, { authorization: `Bearer ${KEY}` })).status, 200)
    assert.equal((await post(`${url}/v1/models/iris:predict`, BODY, { 'x-api-token': KEY })).status, 200)
    assert.equal((await get(`${url}/v1/models`)).status, 401)
  })

  it('keeps health routes open', async (t) => {
    const { url } = await startServer(example('iris'), { t, config: { apiKeys: [KEY] } })
    assert.equal((await get(`${url}/healthz`)).status, 200)
    assert.equal((await get(`${url}/readyz`)).status, 200)
  })

  it('compares with crypto.timingSafeEqual on equal-length digests', async (t) => {
    const { url } = await startServer(example('iris'), { t, config: { apiKeys: [KEY] } })
    const spy = mock.method(crypto, 'timingSafeEqual')
    t.after(() => spy.mock.restore())
    await post(`${url}/v1/models/iris:predict`, BODY, { 'x-api-token': 'x' })
    await post(`${url}/v1/models/iris:predict`, BODY, { 'x-api-token': KEY + 'longer-than-the-key' })
    assert.ok(spy.mock.callCount() >= 2)
    for (const call of spy.mock.calls) assert.equal((call.arguments[0] as Buffer).length, 32)
  })

  it('rotates keys from the key file without a restart', async (t) => {
    const file = join(mkdtempSync(join(tmpdir(), 'carafe-keys-')), 'keys.yaml')
    writeFileSync(file, 'alice: alice-key-0000000001\n')
    const { url } = await startServer(example('iris'), { t, config: { apiKeysFile: file } })
    const predictWith = (key: string) => post(`${url}/v1/models/iris:predict`, BODY, { authorization: `Bearer ${key}` })
    assert.equal((await predictWith('alice-key-0000000001')).status, 200)
    assert.equal((await predictWith('bob-key-00000000000002')).status, 401)
    writeFileSync(file, 'bob: bob-key-00000000000002\n')
    // the file is polled; wait for the change to be seen (bounded: 10 s)
    for (let i = 0; i < 100 && (await predictWith('bob-key-00000000000002')).status !== 200; i++) await sleep(100)
    assert.equal((await predictWith('bob-key-00000000000002')).status, 200)
    assert.equal((await predictWith('alice-key-0000000001')).status, 401)
  })

  it('keeps the keys in force when the key file turns empty (caught mid-save), with a warning', async (t) => {
    const file = join(mkdtempSync(join(tmpdir(), 'carafe-keys-')), 'keys.yaml')
    writeFileSync(file, 'alice: alice-key-0000000001\n')
    const server = await startServer(example('iris'), { t, config: { apiKeysFile: file } })
    const predictWith = (key: string) =>
      post(`${server.url}/v1/models/iris:predict`, BODY, { authorization: `Bearer ${key}` })
    assert.equal((await predictWith('alice-key-0000000001')).status, 200)
    const warned = () => server.logs.filter((l) => l.msg === 'API key file not reloaded; keeping the keys in force')
    writeFileSync(file, '')
    for (let i = 0; i < 100 && warned().length === 0; i++) await sleep(100)
    assert.equal(warned().length, 1, 'the empty file was seen and refused')
    assert.equal(warned()[0].level, 40) // warn
    assert.equal((await predictWith('alice-key-0000000001')).status, 200)
    writeFileSync(file, '# all keys removed\n')
    for (let i = 0; i < 100 && warned().length === 1; i++) await sleep(100)
    assert.equal((await predictWith('alice-key-0000000001')).status, 200)
  })
})

describe('with API keys, the pages that show models need a key too', () => {
  const DOCS = ['/', '/openapi.json', '/docs', '/docs/', '/docs/json', '/docs/yaml']

  it('/, /openapi.json and /docs answer 401 without a key and 200 with one; the playground 404 lists nothing', async (t) => {
    const { url } = await startServer(example('iris'), { t, config: { apiKeys: [KEY] } })
    for (const path of DOCS) {
      const open = await fetch(`${url}${path}`, { redirect: 'manual' })
      const text = await open.text()
      assert.equal(open.status, 401, `${path} without a key`)
      assert.doesNotMatch(text, /iris/, `${path} shows a model name without a key`)
      const keyed = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${KEY}` }, redirect: 'manual' })
      assert.ok(keyed.status === 200 || keyed.status === 302, `${path} with a key: ${keyed.status}`)
    }
    const missing = await get(`${url}/ui/models/nope`)
    assert.equal(missing.status, 404)
    assert.equal(missing.body.error.code, 'MODEL_NOT_FOUND')
    assert.doesNotMatch(missing.text, /iris/)
    // the playground shell stays open: it asks for the key before it calls the API
    assert.equal((await get(`${url}/ui/models/iris`)).status, 200)
  })

  it('publicDocs: true keeps them open; without keys they are open as before', async (t) => {
    const open = await startServer(example('iris'), { t, config: { apiKeys: [KEY], publicDocs: true } })
    for (const path of DOCS) assert.notEqual((await fetch(`${open.url}${path}`)).status, 401, path)
    const keyless = await startServer(example('iris'), { t })
    for (const path of DOCS) assert.notEqual((await fetch(`${keyless.url}${path}`)).status, 401, path)
  })

  it('/docs carries a CSP, X-Frame-Options and nosniff', async (t) => {
    const { url } = await startServer(example('iris'), { t })
    for (const path of ['/docs/', '/docs/static/index.html']) {
      const response = await fetch(`${url}${path}`)
      assert.equal(response.status, 200, path)
      assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'self'.*frame-ancestors 'none'/)
      assert.doesNotMatch(response.headers.get('content-security-policy') ?? '', /upgrade-insecure-requests/)
      assert.equal(response.headers.get('x-frame-options'), 'DENY')
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff')
    }
  })
})
