import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Validator } from '@seriousme/openapi-schema-validator'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { example } from '../helpers/paths.js'
import { get, post, startServer } from '../helpers/server.js'

test('GET /openapi.json is valid OpenAPI 3.1 and every example gets a 200 matching its response schema', async (t) => {
  const server = await startServer([example('iris'), example('mlp')], { t })
  const { status, body: doc } = await get(server.url + '/openapi.json')
  assert.equal(status, 200)
  assert.equal(doc.openapi, '3.1.0')
  const result = await new Validator().validate(doc)
  assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2))
  assert.ok(doc.components.schemas['iris.PredictRequest'] && doc.components.schemas['mlp.PredictResponse'])
  assert.ok(doc.components.schemas.ErrorEnvelope && doc.paths['/v1/jobs/{id}'].delete)
  // the ways to wait on a job: Prefer: wait on submit (201 when finished), the long poll, the event stream
  const submit = doc.paths['/v1/models/iris/jobs'].post
  assert.ok(submit.parameters.some((p: any) => p.in === 'header' && p.name === 'Prefer'))
  assert.equal(submit.responses[201].content['application/json'].schema.$ref, '#/components/schemas/JobStatus')
  assert.ok(doc.paths['/v1/jobs/{id}'].get.parameters.some((p: any) => p.in === 'query' && p.name === 'wait'))
  assert.ok(doc.paths['/v1/jobs/{id}/events'].get.responses[200].content['text/event-stream'])
  assert.equal(doc.components.securitySchemes, undefined, 'no security scheme without API keys')

  const ajv = new Ajv2020({ strict: false, allErrors: true })
  ajv.addSchema(doc, 'openapi')
  let sent = 0
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    if (!path.endsWith(':predict')) continue
    const media = item.post.requestBody.content['application/json']
    const validateResponse = ajv.compile({
      $ref: `openapi${item.post.responses[200].content['application/json'].schema.$ref}`,
    })
    for (const [name, { value }] of Object.entries<any>(media.examples ?? {})) {
      const response = await post(server.url + path, value)
      assert.equal(response.status, 200, `${path} ${name}: ${response.text}`)
      assert.ok(validateResponse(response.body), `${path} ${name}: ${JSON.stringify(validateResponse.errors)}`)
      sent++
    }
  }
  assert.ok(sent >= 2, `every carafe.yaml example was sent (${sent})`)
})

test('with API keys the document declares bearerAuth and apiKey, health stays open; /docs serves Swagger UI locally', async (t) => {
  const server = await startServer(example('iris'), { t, config: { apiKeys: ['k'.repeat(16)] } })
  const { body: doc } = await get(server.url + '/openapi.json', { authorization: 'Bearer ' + 'k'.repeat(16) })
  assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['apiKey', 'bearerAuth'])
  assert.equal(doc.components.securitySchemes.apiKey.name, 'X-Api-Token')
  assert.deepEqual(doc.paths['/healthz'].get.security, [])
  assert.equal((await new Validator().validate(doc)).valid, true)
  const docs = await fetch(server.url + '/docs/', {
    redirect: 'follow',
    headers: { authorization: 'Bearer ' + 'k'.repeat(16) },
  })
  assert.equal(docs.status, 200)
  const html = await docs.text()
  assert.match(html, /swagger/i)
  assert.doesNotMatch(html, /src="https?:|href="https?:/, 'Swagger UI loads nothing from elsewhere')
})

test('carafe openapi <model> prints the same document without starting a server', async (t) => {
  const { execFile } = await import('node:child_process')
  const { CLI } = await import('../helpers/paths.js')
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [CLI, 'openapi', example('iris')], { timeout: 60_000 }, (error, out, err) =>
      error ? reject(new Error(err || String(error))) : resolve(out),
    ),
  )
  const doc = JSON.parse(stdout)
  assert.equal(doc.openapi, '3.1.0')
  assert.ok(doc.paths['/v1/models/iris:predict'].post.requestBody.content['application/json'].examples.example1)
  assert.equal((await new Validator().validate(doc)).valid, true)
  const server = await startServer(example('iris'), { t })
  assert.deepEqual(doc, (await get(server.url + '/openapi.json')).body)
})
