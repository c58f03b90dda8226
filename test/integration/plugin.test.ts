import assert from 'node:assert/strict'
import { test } from 'node:test'
import Fastify from 'fastify'
import { carafe } from '../../src/index.js'
import { example } from '../helpers/paths.js'
import { get, post } from '../helpers/server.js'

test('carafe as a plugin inside a host Fastify app with its own routes and hooks', async (t) => {
  const host = Fastify({ logger: false })
  const seen: string[] = []
  host.addHook('onRequest', async (request) => {
    seen.push(request.url)
  })
  host.get('/hello', async () => ({ host: true }))
  await host.register(carafe, {
    models: [example('iris')],
    config: { models: { iris: { cache: { maxEntries: 10 } } } },
  })
  t.after(() => host.close())
  const url = await host.listen({ port: 0, host: '127.0.0.1' })

  assert.deepEqual((await get(url + '/hello')).body, { host: true })
  const predicted = await post(url + '/v1/models/iris:predict', { instances: [[5.1, 3.5, 1.4, 0.2]] })
  assert.equal(predicted.status, 200, predicted.text)
  assert.equal(predicted.body.predictions[0].label, 'setosa')
  const bad = await post(url + '/v1/models/iris:predict', { instances: [[5.1, '3.5', 1.4, 0.2]] })
  assert.equal(bad.status, 400)
  assert.equal(bad.body.error.code, 'INVALID_INPUT')
  const latin1 = await post(url + '/v1/models/iris:predict', '{"instances":[[5.1,3.5,1.4,0.2]]}', {
    'content-type': 'application/json; charset=latin1',
  })
  assert.equal(latin1.status, 415)
  assert.equal(latin1.body.error.code, 'UNSUPPORTED_MEDIA_TYPE')
  // the config's models.<name> settings reach the model, as with `carafe serve`
  const described = (await get(url + '/v1/models/iris')).body
  assert.deepEqual(described.cache, { maxEntries: 10, ttlMs: 0 })
  assert.deepEqual(described.stats.cache, { hits: 0, misses: 1, entries: 1 })
  assert.equal((await get(url + '/readyz')).status, 200)
  assert.equal((await get(url + '/openapi.json')).body.openapi, '3.1.0')
  assert.match((await get(url + '/')).text, /href="\/ui\/models\/iris"/)
  assert.ok(seen.includes('/v1/models/iris:predict'), 'the host hook saw the API request')
})

test('the plugin applies config.apiKeys as carafe serve does: 401 without a key, 200 with it; health stays open', async (t) => {
  const key = 'plugin-key-0123456789'
  const host = Fastify({ logger: false })
  await host.register(carafe, { models: [example('iris')], config: { apiKeys: [key] } })
  t.after(() => host.close())
  const url = await host.listen({ port: 0, host: '127.0.0.1' })
  const body = { instances: [[5.1, 3.5, 1.4, 0.2]] }
  const refused = await post(url + '/v1/models/iris:predict', body)
  assert.equal(refused.status, 401, refused.text)
  assert.equal(refused.body.error.code, 'UNAUTHORIZED')
  assert.equal((await post(url + '/v1/models/iris:predict', body, { authorization: `Bearer ${key}` })).status, 200)
  assert.equal((await post(url + '/v1/models/iris:predict', body, { 'x-api-token': key })).status, 200)
  assert.equal((await get(url + '/readyz')).status, 200)
})

test('the plugin applies rateLimit and corsOrigins from its config', async (t) => {
  const host = Fastify({ logger: false })
  await host.register(carafe, {
    models: [example('iris')],
    config: { rateLimit: 2, corsOrigins: ['https://app.example'] },
  })
  t.after(() => host.close())
  const url = await host.listen({ port: 0, host: '127.0.0.1' })
  const body = { instances: [[5.1, 3.5, 1.4, 0.2]] }
  const statuses = []
  for (let i = 0; i < 3; i++) statuses.push((await post(url + '/v1/models/iris:predict', body)).status)
  assert.deepEqual(statuses, [200, 200, 429])
  const cors = await get(url + '/v1/models', { origin: 'https://app.example' })
  assert.equal(cors.headers.get('access-control-allow-origin'), 'https://app.example')
})
