import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { identityOnnx } from '../helpers/identity-onnx.js'
import { modelDir } from '../helpers/model-dir.js'
import { example, fixture } from '../helpers/paths.js'
import { assertNoStack, get, post, startServer, type TestServer } from '../helpers/server.js'

const IRIS_ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
]
const irisInput = (rows = IRIS_ROWS) => ({
  name: 'input',
  shape: [rows.length, 4],
  datatype: 'FP32',
  data: rows.flat(),
})

/** A POST with no Content-Type header at all (fetch always adds one for a string body). */
function postWithoutContentType(url: string, body: string): Promise<{ status: number; body: any; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** The V2 error object: {"error": "<message>"} with our code and request id beside it. */
function assertV2Error(answer: { status: number; body: any; text: string }, status: number, code: string): string {
  assert.equal(answer.status, status, answer.text)
  assert.equal(typeof answer.body.error, 'string', answer.text)
  assert.equal(answer.body.code, code, answer.text)
  assert.equal(typeof answer.body.requestId, 'string', answer.text)
  assertNoStack(answer.text)
  return answer.body.error
}

describe('KServe V2 conformance: outputs, versions, nulls, content types, errors, shape bombs', () => {
  let server: TestServer
  before(async () => {
    // "wide" has a dynamic inner dimension, so only the batch limit stands between a huge shape and an allocation
    const dir = await modelDir({ 'wide.onnx': identityOnnx([{ name: 'v', datatype: 'FP32' }], ['n']) })
    server = await startServer([
      example('iris'),
      join(example('mlp'), '1', 'model.onnx'),
      fixture('handlers/echo.ts'),
      join(dir, 'wide.onnx'),
    ])
  })
  after(() => server?.close())
  const infer = (model: string, body: unknown, suffix = '') =>
    post(`${server.url}/v2/models/${model}${suffix}/infer`, body)

  it('honours requested outputs, in the order asked, and refuses an unknown output name before running', async () => {
    const one = await infer('iris', { inputs: [irisInput()], outputs: [{ name: 'probabilities' }] })
    assert.equal(one.status, 200, one.text)
    assert.deepEqual(
      one.body.outputs.map((o: { name: string }) => o.name),
      ['probabilities'],
    )
    const both = await infer('iris', { inputs: [irisInput()], outputs: [{ name: 'label' }, { name: 'probabilities' }] })
    assert.deepEqual(
      both.body.outputs.map((o: { name: string }) => o.name),
      ['label', 'probabilities'],
    )
    assert.deepEqual(both.body.outputs[0], {
      name: 'label',
      datatype: 'BYTES',
      shape: [2],
      data: ['setosa', 'virginica'],
    })
    const batchesBefore = (await get(`${server.url}/v1/models/iris`)).body.stats.batches
    const unknown = await infer('iris', { inputs: [irisInput()], outputs: [{ name: 'nope' }] })
    const message = assertV2Error(unknown, 400, 'INVALID_INPUT')
    assert.match(message, /unknown output "nope".*"probabilities", "label"/)
    assert.equal((await get(`${server.url}/v1/models/iris`)).body.stats.batches, batchesBefore, 'the model did not run')
  })

  it('every output an answer carries is declared in the model metadata (a classifier’s label too)', async () => {
    for (const model of ['iris', 'model']) {
      const meta = (await get(`${server.url}/v2/models/${model}`)).body
      const declared = new Map(meta.outputs.map((o: { name: string; datatype: string }) => [o.name, o.datatype]))
      const body =
        model === 'iris'
          ? { inputs: [irisInput()] }
          : { inputs: [{ name: 'input', shape: [1, 256], datatype: 'FP32', data: new Array(256).fill(0.5) }] }
      const answer = await infer(model, body)
      assert.equal(answer.status, 200, answer.text)
      for (const output of answer.body.outputs) assert.equal(declared.get(output.name), output.datatype, output.name)
      assert.equal(declared.size, answer.body.outputs.length)
    }
    const iris = (await get(`${server.url}/v2/models/iris`)).body
    assert.deepEqual(iris.outputs, [
      { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
      { name: 'label', datatype: 'BYTES', shape: [-1] },
    ])
  })

  it('versioned metadata, ready and infer; an unknown version is 404 on each; GET /v2/ with a trailing slash', async () => {
    const meta = await get(`${server.url}/v2/models/iris/versions/1`)
    assert.equal(meta.status, 200, meta.text)
    assert.deepEqual(meta.body, (await get(`${server.url}/v2/models/iris`)).body)
    const ready = await get(`${server.url}/v2/models/iris/versions/1/ready`)
    assert.equal(ready.status, 200)
    assert.equal(ready.body.ready, true)
    const answer = await infer('iris', { inputs: [irisInput()] }, '/versions/1')
    assert.equal(answer.status, 200, answer.text)
    assert.equal(answer.body.model_version, '1')
    for (const unknown of [
      get(`${server.url}/v2/models/iris/versions/7`),
      get(`${server.url}/v2/models/iris/versions/7/ready`),
      infer('iris', { inputs: [irisInput()] }, '/versions/7'),
    ]) {
      assertV2Error(await unknown, 404, 'VERSION_NOT_FOUND')
    }
    assertV2Error(await get(`${server.url}/v2/models/nope/versions/1`), 404, 'MODEL_NOT_FOUND')
    for (const path of ['/v2', '/v2/']) {
      const server_ = await get(`${server.url}${path}`)
      assert.equal(server_.status, 200, `${path}: ${server_.text}`)
      assert.equal(server_.body.name, 'carafe')
      assert.ok(server_.body.extensions.includes('binary_tensor_data'))
    }
  })

  it('accepts null for the optional fields (id, parameters, outputs, input parameters) and echoes id', async () => {
    const nulls = await infer('iris', {
      id: null,
      parameters: null,
      inputs: [{ ...irisInput(), parameters: null }],
      outputs: null,
    })
    assert.equal(nulls.status, 200, nulls.text)
    assert.equal(nulls.body.id, undefined)
    assert.equal(nulls.body.outputs.length, 2)
    const echoed = await infer('iris', {
      id: 'req-42',
      parameters: { content_type: 'np' },
      inputs: [irisInput()],
      outputs: [{ name: 'label', parameters: null }],
    })
    assert.equal(echoed.status, 200, echoed.text)
    assert.equal(echoed.body.id, 'req-42')
    assert.equal(echoed.body.model_name, 'iris')
  })

  it('a body without Content-Type is read as JSON; other types and charsets are still 415', async () => {
    const body = JSON.stringify({ id: 'no-type', inputs: [irisInput()] })
    const answer = await postWithoutContentType(`${server.url}/v2/models/iris/infer`, body)
    assert.equal(answer.status, 200, answer.text)
    assert.equal(answer.body.id, 'no-type')
    const broken = await postWithoutContentType(`${server.url}/v2/models/iris/infer`, '{"inputs": [')
    assertV2Error(broken, 400, 'MALFORMED_JSON')
    for (const type of ['text/plain', 'application/json; charset=utf-16', 'application/xml']) {
      assertV2Error(
        await post(`${server.url}/v2/models/iris/infer`, body, { 'content-type': type }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      )
    }
  })

  it('V2 errors are {"error": "<message>", "code", "requestId"} on every V2 route; V1 keeps {"error": {...}}', async () => {
    const cases = [
      [await get(`${server.url}/v2/models/nope`), 404, 'MODEL_NOT_FOUND'],
      [await get(`${server.url}/v2/models/nope/ready`), 404, 'MODEL_NOT_FOUND'],
      [await infer('nope', { inputs: [irisInput()] }), 404, 'MODEL_NOT_FOUND'],
      [await infer('iris', { inputs: [] }), 400, 'INVALID_INPUT'],
      [
        await post(`${server.url}/v2/models/iris/infer`, '{"inputs":', { 'content-type': 'application/json' }),
        400,
        'MALFORMED_JSON',
      ],
      [await get(`${server.url}/v2/models/iris/infer`), 405, 'METHOD_NOT_ALLOWED'],
      [await get(`${server.url}/v2/nothing/here`), 404, 'NOT_FOUND'],
    ] as const
    for (const [answer, status, code] of cases) {
      const message = assertV2Error(answer, status, code)
      assert.ok(message.length > 0)
      assert.equal(answer.headers.get('x-request-id'), answer.body.requestId)
    }
    const v1 = await post(`${server.url}/v1/models/nope:predict`, { instances: [[1, 2, 3, 4]] })
    assert.equal(v1.status, 404)
    assert.equal(v1.body.error.code, 'MODEL_NOT_FOUND')
  })

  it('shape and datatype errors are 400 in V2 terms: the input name, the dimension or element, never "instance 0 at /"', async () => {
    const cases: [unknown, RegExp][] = [
      [
        { inputs: [{ ...irisInput(), datatype: 'INT64' }] },
        /^input "input": datatype INT64 does not match the model's FP32/,
      ],
      [
        { inputs: [{ ...irisInput(), shape: [8] }] },
        /^input "input": shape \[8\] has 1 dimensions; the model takes \[-1, 4\]/,
      ],
      [{ inputs: [{ ...irisInput(), shape: [4, 2] }] }, /^input "input": dimension 1 is 2; the model takes \[-1, 4\]/],
      [
        { inputs: [{ ...irisInput(), data: IRIS_ROWS.flat().slice(1) }] },
        /^input "input": "data" holds 7 elements; shape \[2, 4\] needs 8/,
      ],
      [{ inputs: [{ ...irisInput(), data: [...IRIS_ROWS.flat(), 1] }] }, /holds more than the 8 elements/],
      [
        { inputs: [{ ...irisInput(), data: [[[1, 2, 3, 4]], [[5, 6, 7, 8]]] }] },
        /nested deeper than its shape \[2, 4\]/,
      ],
      [
        { inputs: [{ ...irisInput(), data: [1, 2, 3, 'x', 5, 6, 7, 8] }] },
        /^input "input": element 3 must be a number \(FP32\)/,
      ],
      [{ inputs: [{ ...irisInput(), shape: [-1, 4] }] }, /dimension 0 of the shape must be an integer/],
      [
        { inputs: [irisInput(), { ...irisInput(), name: 'extra' }] },
        /^unknown input "extra": model "iris" takes "input"/,
      ],
      [{ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32' }] }, /"data" must be an array/],
      [{ inputs: [irisInput(), irisInput()] }, /input "input" is sent twice/],
      [{ inputs: [] }, /"inputs" must be a non-empty array/],
      [{ id: 7, inputs: [irisInput()] }, /"id" must be a string/],
      [
        { inputs: [irisInput()], outputs: [{ label: 'x' }] },
        /requested output 0 must be an object with a string "name"/,
      ],
    ]
    for (const [body, message] of cases) {
      const answer = await infer('iris', body)
      const error = assertV2Error(answer, 400, 'INVALID_INPUT')
      assert.match(error, message, JSON.stringify(body))
      assert.doesNotMatch(error, /instance \d+ at/)
    }
  })

  it('data nested 100,000 deep is a 400, not a stack overflow', async () => {
    const data = `${'['.repeat(100_000)}1${']'.repeat(100_000)}` // JSON.stringify itself would overflow here
    const body = `{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":${data}}]}`
    const answer = await post(`${server.url}/v2/models/iris/infer`, body, { 'content-type': 'application/json' })
    // the JSON layer's nesting limit refuses it before the decoder sees it (which is depth-safe on its own)
    assertV2Error(answer, 400, 'NESTING_TOO_DEEP')
  })

  it('the shape bomb (a ~80-byte body) is refused before any allocation while other requests are answered', {
    timeout: 60_000,
  }, async () => {
    // [100000000, 0] passes product(shape) === data.length; a dynamic inner dimension leaves only the batch limit
    const bombs = [
      ['iris', '{"inputs":[{"name":"input","shape":[100000000,0],"datatype":"FP32","data":[]}]}', 'INVALID_INPUT'],
      ['wide', '{"inputs":[{"name":"x_v","shape":[100000000,0],"datatype":"FP32","data":[]}]}', 'INVALID_INPUT'],
      ['wide', '{"inputs":[{"name":"x_v","shape":[100000000,1],"datatype":"FP32","data":[1]}]}', 'TOO_MANY_INSTANCES'],
    ] as const
    for (const [model, body, code] of bombs) {
      const bomb = post(`${server.url}/v2/models/${model}/infer`, body, { 'content-type': 'application/json' })
      const other = infer('iris', { inputs: [irisInput()] })
      const [bombAnswer, otherAnswer] = await Promise.all([bomb, other])
      assertV2Error(bombAnswer, 400, code)
      assert.equal(otherAnswer.status, 200, otherAnswer.text)
    }
  })

  it('bodyLimit applies to binary and untyped infer bodies: 413 in the V2 error shape', async (t) => {
    const small = await startServer([example('iris')], { t, config: { bodyLimit: 4096 } })
    const header = Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }],
      }),
    )
    const big = Buffer.concat([header, Buffer.alloc(8192)])
    const variants: Record<string, string>[] = [
      { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
      { 'inference-header-content-length': String(header.length) },
    ]
    for (const headers of variants) {
      const response = await fetch(`${small.url}/v2/models/iris/infer`, {
        method: 'POST',
        headers,
        body: new Uint8Array(big),
      })
      const text = await response.text()
      assertV2Error({ status: response.status, body: JSON.parse(text), text }, 413, 'PAYLOAD_TOO_LARGE')
    }
    const fits = Buffer.concat([header, Buffer.from(new Float32Array([5.1, 3.5, 1.4, 0.2]).buffer)])
    const ok = await fetch(`${small.url}/v2/models/iris/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
      body: new Uint8Array(fits),
    })
    assert.equal(ok.status, 200, await ok.text())
  })

  it('with API keys on, a V2 route without a key answers 401 in the V2 error shape; V2 health stays open', async (t) => {
    const key = 'v2-conformance-key-0123456789'
    const locked = await startServer([example('iris')], { t, config: { apiKeys: [key] } })
    assertV2Error(await post(`${locked.url}/v2/models/iris/infer`, { inputs: [irisInput()] }), 401, 'UNAUTHORIZED')
    assertV2Error(await get(`${locked.url}/v2/models/iris/versions/1`), 401, 'UNAUTHORIZED')
    assert.equal((await get(`${locked.url}/v2/health/ready`)).status, 200)
    const ok = await post(
      `${locked.url}/v2/models/iris/infer`,
      { inputs: [irisInput()] },
      { authorization: `Bearer ${key}` },
    )
    assert.equal(ok.status, 200, ok.text)
  })

  it('a handler model says in its metadata that it is V1-only, and infer answers a 400 saying so', async () => {
    const meta = await get(`${server.url}/v2/models/echo`)
    assert.equal(meta.status, 200)
    assert.equal(meta.body.platform, 'carafe_handler')
    assert.equal(meta.body.parameters.v2_infer, false)
    assert.match(meta.body.parameters.message, /V1 only.*\/v1\/models\/echo:predict/)
    const answer = await infer('echo', { inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }] })
    assert.match(
      assertV2Error(answer, 400, 'INVALID_INPUT'),
      /served over V1 only; use POST \/v1\/models\/echo:predict/,
    )
  })
})
