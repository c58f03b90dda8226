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
  await host.register(carafe, { models: [example('iris')] })
  t.after(() => host.close())
  const url = await host.listen({ port: 0, host: '127.0.0.1' })

  assert.deepEqual((await get(url + '/hello')).body, { host: true })
  const predicted = await post(url + '/v1/models/iris:predict', { instances: [[5.1, 3.5, 1.4, 0.2]] })
  assert.equal(predicted.status, 200, predicted.text)
  assert.equal(predicted.body.predictions[0].label, 'setosa')
  const bad = await post(url + '/v1/models/iris:predict', { instances: [[5.1, '3.5', 1.4, 0.2]] })
  assert.equal(bad.status, 400)
  assert.equal(bad.body.error.code, 'INVALID_INPUT')
  assert.equal((await get(url + '/readyz')).status, 200)
  assert.equal((await get(url + '/openapi.json')).body.openapi, '3.1.0')
  assert.match((await get(url + '/')).text, /href="\/ui\/models\/iris"/)
  assert.ok(seen.includes('/v1/models/iris:predict'), 'the host hook saw the API request')
})
