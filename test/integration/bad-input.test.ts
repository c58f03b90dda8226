import assert from 'node:assert/strict'
import { join } from 'node:path'
import { before, after, describe, it } from 'node:test'
import { identityOnnx } from '../helpers/identity-onnx.js'
import { modelDir } from '../helpers/model-dir.js'
import { example, fixture } from '../helpers/paths.js'
import { assertNoStack, get, post, startServer, type TestServer } from '../helpers/server.js'

// The foundation's bad-input table: every case is JSON with a stable code, never a stack, and the server keeps serving.
describe('bad input', () => {
  let server: TestServer
  let predict: string
  before(async () => {
    server = await startServer([example('iris'), fixture('handlers/throws.ts')], { config: { bodyLimit: 64 * 1024 } })
    predict = `${server.url}/v1/models/iris:predict`
  })
  after(() => server.close())

  async function expectError(
    response: Promise<{ status: number; body: any; text: string }>,
    status: number,
    code: string,
  ) {
    const answer = await response
    assert.equal(answer.status, status, answer.text)
    // V2 routes answer the protocol's {"error": "<message>", "code", "details"}; the others {"error": {...}}
    const error =
      typeof answer.body?.error === 'string'
        ? { code: answer.body.code, message: answer.body.error, details: answer.body.details ?? [] }
        : answer.body?.error
    assert.equal(error?.code, code, answer.text)
    assert.equal(typeof error.message, 'string')
    assert.ok(Array.isArray(error.details))
    assertNoStack(answer.text)
    return error
  }

  it('malformed JSON → 400 MALFORMED_JSON', async () => {
    await expectError(
      post(predict, '{"instances": [[5.1, 3.5,', { 'content-type': 'application/json' }),
      400,
      'MALFORMED_JSON',
    )
    await expectError(
      post(predict, '{"instances": [[NaN, 1, 2, 3]]}', { 'content-type': 'application/json' }),
      400,
      'MALFORMED_JSON',
    )
  })

  it('empty body → 400 MALFORMED_JSON', async () => {
    await expectError(post(predict, '', { 'content-type': 'application/json' }), 400, 'MALFORMED_JSON')
  })

  it('body not an object, instances missing or empty → 400 INVALID_INPUT', async () => {
    for (const body of [
      [1, 2],
      'instances',
      42,
      null,
      {},
      { instances: [] },
      { instances: 'x' },
      { inputs: [[1, 2, 3, 4]] },
    ]) {
      await expectError(
        post(predict, JSON.stringify(body), { 'content-type': 'application/json' }),
        400,
        'INVALID_INPUT',
      )
    }
  })

  it('wrong element type, rank or fixed dimension → 400 INVALID_INPUT naming instance and path', async () => {
    const cases: [unknown, number, string][] = [
      [
        [
          [5.1, 3.5, 1.4, 0.2],
          [5.1, '3.5', 1.4, 0.2],
        ],
        1,
        '/1',
      ], // a string in a number array
      [
        [
          [5.1, 3.5, 1.4, 0.2],
          [5.1, 3.5, 1.4],
        ],
        1,
        '/',
      ], // wrong fixed dimension
      [[[[5.1], [3.5], [1.4], [0.2]]], 0, '/0'], // wrong rank
      [[[[5.1, 3.5, 1.4, 0.2]]], 0, '/'], // wrong rank, caught as a wrong length
      [[5.1], 0, '/'], // rank 0
      // biome-ignore lint/correctness/noPrecisionLoss: JSON.parse turns 1e999 into Infinity, the case under test
      [[[5.1, 3.5, 1.4, 1e999]], 0, '/3'], // Infinity
      [[[5.1, 3.5, true, 0.2]], 0, '/2'],
      [[[5.1, 3.5, null, 0.2]], 0, '/2'],
    ]
    for (const [instances, index, path] of cases) {
      const error = await expectError(post(predict, { instances }), 400, 'INVALID_INPUT')
      assert.equal(error.details[0].instance, index, JSON.stringify(instances))
      assert.equal(error.details[0].path, path, JSON.stringify(instances))
    }
  })

  it('"NaN" and "Infinity" strings where numbers are expected → 400 INVALID_INPUT', async () => {
    for (const bad of ['NaN', 'Infinity', '1e999'])
      await expectError(post(predict, { instances: [[5.1, 3.5, 1.4, bad]] }), 400, 'INVALID_INPUT')
  })

  it('body over the limit → 413 PAYLOAD_TOO_LARGE', async () => {
    const big = { instances: Array.from({ length: 5000 }, () => [5.1, 3.5, 1.4, 0.2]) }
    await expectError(post(predict, big), 413, 'PAYLOAD_TOO_LARGE')
  })

  it('a content type other than JSON → 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    for (const type of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'image/png']) {
      await expectError(
        post(predict, '{"instances":[[5.1,3.5,1.4,0.2]]}', { 'content-type': type }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      )
    }
  })

  it('JSON in a charset other than utf-8 → 415 UNSUPPORTED_MEDIA_TYPE naming the charset, on every JSON body route', async () => {
    const v1 = '{"instances":[[5.1,3.5,1.4,0.2]]}'
    const routes: [string, string][] = [
      [predict, v1],
      [`${server.url}/predict`, v1],
      [
        `${server.url}/v2/models/iris/infer`,
        JSON.stringify({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] }),
      ],
      [`${server.url}/v1/models/iris/jobs`, v1],
      [`${server.url}/v1/models/iris:annotate`, '{"requests":[{"image":{"content":"AAAA"}}]}'],
    ]
    const charsets: [string, (text: string) => Uint8Array | string][] = [
      ['utf-16', (text) => Buffer.from(`\ufeff${text}`, 'utf16le')], // a real UTF-16 body, as a client would send it
      ['UTF-16LE', (text) => Buffer.from(text, 'utf16le')],
      ['latin1', (text) => Buffer.from(text, 'latin1')], // ASCII-only text is the same bytes: refused for what it declares
      ['iso-8859-1', (text) => text],
      ['"windows-1252"', (text) => text],
    ]
    for (const [url, body] of routes) {
      for (const [charset, encode] of charsets) {
        const error = await expectError(
          post(url, encode(body), { 'content-type': `application/json; charset=${charset}` }),
          415,
          'UNSUPPORTED_MEDIA_TYPE',
        )
        const named = charset.replaceAll('"', '').toLowerCase()
        assert.match(error.message, new RegExp(`"${named}".*utf-8`), `${url} ${charset}: ${error.message}`)
        assert.deepEqual(error.details, [{ charset: named, accepted: ['utf-8'] }])
      }
    }
  })

  it('JSON declared utf-8 (any case, quoted) or with no charset is accepted', async () => {
    const body = '{"instances":[[5.1,3.5,1.4,0.2]]}'
    for (const type of [
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=UTF-8',
      'application/json;charset="utf-8"',
      'application/json; charset=utf8',
      'Application/JSON; Charset=Utf-8',
    ]) {
      const answer = await post(predict, body, { 'content-type': type })
      assert.equal(answer.status, 200, `${type}: ${answer.text}`)
      assert.equal(answer.body.predictions[0].label, 'setosa')
    }
    const infer = await post(
      `${server.url}/v2/models/iris/infer`,
      JSON.stringify({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] }),
      { 'content-type': 'application/json; charset=UTF-8' },
    )
    assert.equal(infer.status, 200, infer.text)
  })

  it('unknown model → 404 MODEL_NOT_FOUND', async () => {
    await expectError(
      post(`${server.url}/v1/models/nope:predict`, { instances: [[1, 2, 3, 4]] }),
      404,
      'MODEL_NOT_FOUND',
    )
    await expectError(get(`${server.url}/v1/models/nope`), 404, 'MODEL_NOT_FOUND')
  })

  it('wrong method → 405 with Allow', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const response = await fetch(predict, { method })
      const text = await response.text()
      assert.equal(response.status, 405, text)
      assert.equal(JSON.parse(text).error.code, 'METHOD_NOT_ALLOWED')
      assert.equal(response.headers.get('allow'), 'POST')
      assertNoStack(text)
    }
    const response = await fetch(`${server.url}/v1/models/iris`, { method: 'POST' })
    assert.equal(response.status, 405)
    assert.equal(response.headers.get('allow'), 'GET, HEAD')
  })

  it('an unknown path → 404 NOT_FOUND; a verb after ":" other than predict is not a model name', async () => {
    await expectError(get(`${server.url}/nothing/here`), 404, 'NOT_FOUND')
    await expectError(post(`${server.url}/v1/models/iris:explain`, { instances: [[1, 2, 3, 4]] }), 404, 'NOT_FOUND')
  })

  it('a handler that throws → 500 PREDICTION_FAILED with the request id; the stack only in the log', async () => {
    const answer = await post(
      `${server.url}/v1/models/throws:predict`,
      { instances: [1] },
      { 'x-request-id': 'test-throws-1' },
    )
    const error = await expectError(Promise.resolve(answer), 500, 'PREDICTION_FAILED')
    assert.equal(error.requestId, 'test-throws-1')
    assert.equal(answer.headers.get('x-request-id'), 'test-throws-1')
    assert.ok(!answer.text.includes('secret detail'))
    const logged = server.logs.find((line) => line.reqId === 'test-throws-1' && line.level === 50)
    assert.ok(logged, 'the failure is logged with the request id')
    assert.match(JSON.stringify(logged), /secret detail/)
    assert.match(JSON.stringify(logged), /at /)
  })

  it('a bad timeout header → 400 INVALID_INPUT', async () => {
    await expectError(
      post(predict, { instances: [[5.1, 3.5, 1.4, 0.2]] }, { 'x-carafe-timeout-ms': 'soon' }),
      400,
      'INVALID_INPUT',
    )
  })

  it('keeps serving after all of that, and logs one line per request with id, model, status and latency', async () => {
    const answer = await post(predict, { instances: [[5.1, 3.5, 1.4, 0.2]] }, { 'x-request-id': 'after-all' })
    assert.equal(answer.status, 200)
    assert.equal(answer.body.predictions[0].label, 'setosa')
    const lines = server.logs.filter((line) => line.reqId === 'after-all' && line.msg === 'request')
    assert.equal(lines.length, 1)
    assert.equal(lines[0].model, 'iris')
    assert.equal(lines[0].status, 200)
    assert.equal(typeof lines[0].ms, 'number')
  })
})

// An integer tensor is a typed array: a value past its type's range would wrap around silently (300 → 44 as UINT8).
describe('V1 integer inputs outside their type range', () => {
  const RANGES: [string, number, number][] = [
    ['INT8', -128, 127],
    ['UINT8', 0, 255],
    ['INT16', -32768, 32767],
    ['UINT16', 0, 65535],
    ['INT32', -2147483648, 2147483647],
    ['UINT32', 0, 4294967295],
    ['INT64', -9007199254740991, 9007199254740991],
    ['UINT64', 0, 9007199254740991],
  ]
  let server: TestServer
  before(async () => {
    const dir = await modelDir(
      Object.fromEntries(
        RANGES.map(([datatype]) => [`${datatype.toLowerCase()}.onnx`, identityOnnx([{ name: 'v', datatype }], [2])]),
      ),
    )
    server = await startServer(RANGES.map(([datatype]) => join(dir, `${datatype.toLowerCase()}.onnx`)))
  })
  after(() => server?.close())

  it('the edges of each range pass through unchanged; one past either edge is 400 INVALID_INPUT', async () => {
    for (const [datatype, min, max] of RANGES) {
      const predict = `${server.url}/v1/models/${datatype.toLowerCase()}:predict`
      const ok = await post(predict, { instances: [[min, max]] })
      assert.equal(ok.status, 200, `${datatype}: ${ok.text}`)
      assert.deepEqual(ok.body.predictions, [[min, max]], datatype)
      for (const outside of [min - 1, max + 1]) {
        const refused = await post(predict, { instances: [[0, outside]] })
        assert.equal(refused.status, 400, `${datatype} ${outside}: ${refused.text}`)
        assert.equal(refused.body.error.code, 'INVALID_INPUT', datatype)
        assert.match(refused.text, /\/1/, `${datatype}: names the element`)
      }
    }
  })

  it('over V2 too, 64-bit integers stop at 2^53 (2^63 as a JSON number would wrap around to -2^63)', async () => {
    for (const [datatype, , max] of RANGES.filter(([d]) => d.endsWith('64'))) {
      const infer = `${server.url}/v2/models/${datatype.toLowerCase()}/infer`
      const tensor = (data: number[]) => ({ inputs: [{ name: 'x_v', datatype, shape: [1, 2], data }] })
      const ok = await post(infer, tensor([0, max]))
      assert.equal(ok.status, 200, ok.text)
      assert.deepEqual(ok.body.outputs[0].data, [0, max])
      for (const outside of [max + 1, 2 ** 63]) {
        const refused = await post(infer, tensor([0, outside]))
        assert.equal(refused.status, 400, `${datatype} ${outside}: ${refused.text}`)
        assert.equal(refused.body.code, 'INVALID_INPUT')
      }
      // as binary data the value is exact in the request, but not past 2^53 in a JS number: refused, not rounded
      const bytes = Buffer.alloc(16)
      bytes.writeBigInt64LE(2n ** 62n + 1n, 8)
      const header = Buffer.from(
        JSON.stringify({ inputs: [{ name: 'x_v', datatype, shape: [1, 2], parameters: { binary_data_size: 16 } }] }),
      )
      const binary = await fetch(infer, {
        method: 'POST',
        headers: { 'inference-header-content-length': String(header.length) },
        body: Buffer.concat([header, bytes]),
      })
      const text = await binary.text()
      assert.equal(binary.status, 400, text)
      assert.equal(JSON.parse(text).code, 'INVALID_INPUT')
    }
  })
})
