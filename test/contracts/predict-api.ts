import assert from 'node:assert/strict'
import { describe, it, before, after } from 'node:test'
import { get, post, startServer, type TestServer } from '../helpers/server.js'

export interface PredictApiCase {
  path: string
  name: string
  valid: unknown[]
  /** An instance of the wrong type for this model. */
  invalid: unknown
  check?(predictions: unknown[]): void
}

/** One predict-API suite, run against every kind of model. */
export function predictApiContract(kind: string, c: PredictApiCase): void {
  describe(`predict API (${kind})`, () => {
    let server: TestServer
    before(async () => {
      server = await startServer(c.path)
    })
    after(() => server.close())

    it('lists the model', async () => {
      const { status, body } = await get(`${server.url}/v1/models`)
      assert.equal(status, 200)
      assert.deepEqual(
        body.models.map((m: { name: string }) => m.name),
        [c.name],
      )
      assert.equal(body.models[0].state, 'ready')
    })

    it('describes the model with its input schema, version and state', async () => {
      const { status, body } = await get(`${server.url}/v1/models/${c.name}`)
      assert.equal(status, 200)
      assert.equal(body.name, c.name)
      assert.equal(typeof body.version, 'string')
      assert.equal(body.state, 'ready')
      assert.equal(typeof body.input, 'object')
    })

    it('predicts one output per instance, in order, through :predict and /predict', async () => {
      const a = await post(`${server.url}/v1/models/${c.name}:predict`, { instances: c.valid })
      assert.equal(a.status, 200, a.text)
      assert.equal(a.body.predictions.length, c.valid.length)
      c.check?.(a.body.predictions)
      const b = await post(`${server.url}/predict`, { instances: c.valid })
      assert.equal(b.status, 200)
      assert.deepEqual(b.body, a.body)
      assert.ok(a.headers.get('x-request-id'))
    })

    it('refuses an instance of the wrong type with INVALID_INPUT naming the instance', async () => {
      const { status, body } = await post(`${server.url}/v1/models/${c.name}:predict`, {
        instances: [c.valid[0], c.invalid],
      })
      assert.equal(status, 400)
      assert.equal(body.error.code, 'INVALID_INPUT')
      assert.equal(body.error.details[0].instance, 1)
    })
  })
}
