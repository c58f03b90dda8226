import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { MAX_JSON_DEPTH } from '../../src/model/index.js'
import { PredictionCache } from '../../src/serving/prediction-cache.js'
import { example, fixture } from '../helpers/paths.js'
import { assertNoStack, post, startServer, type TestServer } from '../helpers/server.js'

const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`
const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`

// every route that takes a JSON body, with a body whose nesting sits where the route reads it
const ROUTES: [string, (inner: string) => string][] = [
  ['/v1/models/iris:predict', (inner) => `{"instances":[${inner}]}`],
  ['/v1/models/iris/jobs', (inner) => `{"instances":[${inner}]}`],
  ['/v1/models/iris:annotate', (inner) => `{"requests":[{"image":{"content":"x"},"features":[${inner}]}]}`],
  ['/v2/models/iris/infer', (inner) => `{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":${inner}}]}`],
  ['/v2/models/iris/versions/1/infer', (inner) => `{"inputs":[],"parameters":${inner}}`],
]

describe('JSON nesting depth and float32 range', () => {
  let server: TestServer
  before(async () => {
    server = await startServer([example('iris'), fixture('handlers/counts-calls.ts')], {
      config: { models: { 'counts-calls': { cache: { maxEntries: 10 } } } },
    })
  })
  after(() => server.close())

  it('answers 400 NESTING_TOO_DEEP on every JSON route, for arrays and objects, 100k levels deep too', async () => {
    for (const [path, wrap] of ROUTES) {
      for (const inner of [deepArray(100_000), deepObject(5_000), deepArray(MAX_JSON_DEPTH + 1)]) {
        const answer = await post(`${server.url}${path}`, wrap(inner), { 'content-type': 'application/json' })
        assert.equal(answer.status, 400, `${path}: ${answer.text.slice(0, 200)}`)
        assert.equal(codeOf(answer.body), 'NESTING_TOO_DEEP', path)
        assertNoStack(answer.text)
      }
    }
  })

  it('answers NESTING_TOO_DEEP for /predict with one model and for a deep object to a cached model', async () => {
    const deep = await post(
      `${server.url}/v1/models/counts-calls:predict`,
      `{"instances":[{"x":1,"tag":${deepObject(5_000)}}]}`,
      { 'content-type': 'application/json' },
    )
    assert.equal(deep.status, 400)
    assert.equal(deep.body.error.code, 'NESTING_TOO_DEEP')
    const one = await startServer(example('iris'), {})
    try {
      const answer = await post(`${one.url}/predict`, `{"instances":${deepArray(20_000)}}`, {
        'content-type': 'application/json',
      })
      assert.equal(answer.body?.error?.code, 'NESTING_TOO_DEEP')
    } finally {
      await one.close()
    }
  })

  it('keeps ordinary nesting: a body at the limit is read (and judged by the schema)', async () => {
    const shallow = await post(`${server.url}/v1/models/iris:predict`, { instances: [[5.1, 3.5, 1.4, 0.2]] })
    assert.equal(shallow.status, 200)
    // MAX_JSON_DEPTH levels in all: the body, "instances" and the rest nested
    const atLimit = await post(
      `${server.url}/v1/models/iris:predict`,
      `{"instances":${deepArray(MAX_JSON_DEPTH - 1)}}`,
      { 'content-type': 'application/json' },
    )
    assert.equal(atLimit.status, 400)
    assert.equal(atLimit.body.error.code, 'INVALID_INPUT')
  })

  it('the cache key of an instance nested deeper than JSON.stringify can recurse is skipped, not a stack overflow', () => {
    const cache = new PredictionCache('m', '1', { maxEntries: 10 })
    let deep: unknown = 1
    for (let i = 0; i < 100_000; i++) deep = { a: deep }
    assert.equal(cache.keyOf(deep), undefined)
    assert.deepEqual(cache.lookup([cache.keyOf(deep)]), [undefined])
    cache.store([undefined], ['x']) // nothing stored, nothing thrown
    assert.equal(cache.snapshot().entries, 0)
    assert.equal(typeof cache.keyOf({ a: [1, 2] }), 'string')
  })

  it('answers 400 INVALID_INPUT naming instance and path for a number beyond float32 (V1 and V2)', async () => {
    const v1 = await post(`${server.url}/v1/models/iris:predict`, {
      instances: [
        [5.1, 3.5, 1.4, 0.2],
        [5.1, 3.5e39, 1.4, 0.2],
      ],
    })
    assert.equal(v1.status, 400, v1.text)
    assert.equal(v1.body.error.code, 'INVALID_INPUT')
    assert.equal(v1.body.error.details[0].instance, 1)
    assert.equal(v1.body.error.details[0].path, '/1')
    const negative = await post(`${server.url}/v1/models/iris:predict`, { instances: [[-3.5e39, 1, 1, 1]] })
    assert.equal(negative.body.error.code, 'INVALID_INPUT')
    const v2 = await post(`${server.url}/v2/models/iris/infer`, {
      inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 1, 1, 3.5e39] }],
    })
    assert.equal(v2.status, 400, v2.text)
    assert.equal(codeOf(v2.body), 'INVALID_INPUT')
    // V2 names the input and the element, in the protocol's words
    assert.equal(v2.body.details[0].element, 3)
    assert.match(v2.body.error, /input "input": element 3 is out of range for FP32/)
    // the largest float32 itself passes the schema (what the model makes of it is the model's business)
    const max = await post(`${server.url}/v1/models/iris:predict`, { instances: [[3.4028234663852886e38, 1, 1, 1]] })
    assert.notEqual(max.body?.error?.code, 'INVALID_INPUT', max.text)
  })
})

/** The error code of a V1 envelope ({"error": {code}}) or of the V2 protocol's body ({"error": "...", code}). */
function codeOf(body: { error?: string | { code?: string }; code?: string } | undefined): string | undefined {
  return typeof body?.error === 'string' ? body.code : body?.error?.code
}
