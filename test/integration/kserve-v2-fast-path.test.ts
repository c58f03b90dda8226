import assert from 'node:assert/strict'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { loadAll } from '../../src/http/index.js'
import { identityOnnx } from '../helpers/identity-onnx.js'
import { modelDir } from '../helpers/model-dir.js'
import { example } from '../helpers/paths.js'
import { get, post, startServer } from '../helpers/server.js'

// V2 rows reach the runner as typed arrays (no JSON Schema pass, no arrays of numbers) and are batched with V1's nested
// arrays into one run: these tests check the answers of such mixed batches and that the batch really was shared.

type Element = { datatype: string; bytes: number; write(b: Buffer, v: number, at: number): void }
const FP32: Element = { datatype: 'FP32', bytes: 4, write: (b, v, at) => b.writeFloatLE(v, at) }
const INT32: Element = { datatype: 'INT32', bytes: 4, write: (b, v, at) => b.writeInt32LE(v, at) }
const UINT8: Element = { datatype: 'UINT8', bytes: 1, write: (b, v, at) => b.writeUInt8(v, at) }
const INT64: Element = { datatype: 'INT64', bytes: 8, write: (b, v, at) => b.writeBigInt64LE(BigInt(v), at) }
// FP16 bit patterns: 1.5, -2, 0.5
const HALF: Record<number, number> = { 1.5: 0x3e00, [-2]: 0xc000, 0.5: 0x3800 }
const FP16: Element = { datatype: 'FP16', bytes: 2, write: (b, v, at) => b.writeUInt16LE(HALF[v], at) }

/** A V2 request with its inputs as binary data ([rows, inner] each); outputs come back as binary too when `binaryOut`. */
function binaryBody(inputs: { name: string; element: Element; rows: number[][] }[], binaryOut: boolean) {
  const parts = inputs.map(({ element, rows }) => {
    const flat = rows.flat()
    const part = Buffer.alloc(flat.length * element.bytes)
    for (const [i, v] of flat.entries()) element.write(part, v, i * element.bytes)
    return part
  })
  const header = Buffer.from(
    JSON.stringify({
      inputs: inputs.map(({ name, element, rows }, i) => ({
        name,
        datatype: element.datatype,
        shape: [rows.length, rows[0].length],
        parameters: { binary_data_size: parts[i].length },
      })),
      ...(binaryOut ? { parameters: { binary_data_output: true } } : {}),
    }),
  )
  return {
    body: new Uint8Array(Buffer.concat([header, ...parts])),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
  }
}

async function postBinary(url: string, request: ReturnType<typeof binaryBody>) {
  const response = await fetch(url, { method: 'POST', ...request })
  const bytes = Buffer.from(await response.arrayBuffer())
  const length = response.headers.get('inference-header-content-length')
  const jsonLength = length === null ? bytes.length : Number(length)
  return {
    status: response.status,
    json: JSON.parse(bytes.subarray(0, jsonLength).toString('utf8')),
    binary: bytes.subarray(jsonLength),
  }
}

const jsonTensor = (name: string, datatype: string, rows: number[][]) => ({
  name,
  datatype,
  shape: [rows.length, rows[0].length],
  data: rows.flat(),
})

/** The V1 :predict model's batch histogram (rows per run). */
async function batchSizes(url: string, model: string): Promise<Record<string, number>> {
  return (await get(`${url}/v1/models/${model}`)).body.stats.batchSizes
}

describe('KServe V2 typed rows: batched with V1, answers unchanged', () => {
  it('mlp: one V1, one V2 JSON and one V2 binary request share one run and get the same probabilities for the same rows', async (t) => {
    const [descriptor] = await loadAll([example('mlp')])
    // a fresh batcher waits its window for company: the three requests below land in one batch
    descriptor.batch = { maxSize: 64, maxDelayMs: 500 }
    const { url } = await startServer([descriptor], { t })
    // values exact in float32, so the binary rows and the JSON rows are the same input
    const row = (k: number) => Array.from({ length: 256 }, (_, i) => ((i * 7 + k) % 17) / 16)
    const rows = [row(0), row(1), row(2), row(3)]
    const infer = `${url}/v2/models/mlp/infer`
    // distinct row counts (1 + 2 + 4): a batch of 7 can only be all three requests together
    const [v1, v2json, v2binary] = await Promise.all([
      post(`${url}/v1/models/mlp:predict`, { instances: [rows[0]] }),
      post(infer, { inputs: [jsonTensor('input', 'FP32', rows.slice(0, 2))] }),
      postBinary(infer, binaryBody([{ name: 'input', element: FP32, rows }], true)),
    ])
    assert.equal(v1.status, 200, v1.text)
    assert.equal(v2json.status, 200, v2json.text)
    assert.equal(v2binary.status, 200, JSON.stringify(v2binary.json))
    assert.deepEqual(await batchSizes(url, 'mlp'), { 7: 1 }, 'the three requests ran as one batch of 7 rows')

    const output = v2binary.json.outputs[0]
    assert.deepEqual(output.shape, [4, 10])
    assert.equal(output.parameters.binary_data_size, 4 * 10 * 4)
    const binaryRows = Array.from({ length: 4 }, (_, r) =>
      Array.from({ length: 10 }, (_, i) => v2binary.binary.readFloatLE((r * 10 + i) * 4)),
    )
    const jsonRows = [v2json.body.outputs[0].data.slice(0, 10), v2json.body.outputs[0].data.slice(10)]
    // the same rows of one run: the same probabilities, whichever protocol carried them in and out
    assertClose(binaryRows[0], v1.body.predictions[0])
    assertClose(jsonRows[0], v1.body.predictions[0])
    assertClose(binaryRows[1], jsonRows[1])
    // and rows that differ get different answers (no row was mixed up with another)
    assert.notDeepEqual(binaryRows[2], binaryRows[3])

    // the same binary request alone: the same answer as in the mixed batch
    const alone = await postBinary(infer, binaryBody([{ name: 'input', element: FP32, rows }], true))
    assertClose(
      Array.from({ length: 40 }, (_, i) => alone.binary.readFloatLE(i * 4)),
      binaryRows.flat(),
    )
  })

  it('a single INT32 input: V1, V2 JSON and V2 binary rows packed into one run each get their own values back', async (t) => {
    const dir = await modelDir({ 'ints.onnx': identityOnnx([{ name: 'v', datatype: 'INT32' }], [3]) })
    const [descriptor] = await loadAll([join(dir, 'ints.onnx')])
    descriptor.batch = { maxSize: 64, maxDelayMs: 500 }
    const { url } = await startServer([descriptor], { t })
    const infer = `${url}/v2/models/ints/infer`
    const [v1, v2json, v2binary] = await Promise.all([
      post(`${url}/v1/models/ints:predict`, { instances: [[1, -2, 3]] }),
      post(infer, {
        inputs: [
          jsonTensor('x_v', 'INT32', [
            [4, 5, 6],
            [-7, 8, 2147483647],
          ]),
        ],
      }),
      postBinary(
        infer,
        binaryBody(
          [
            {
              name: 'x_v',
              element: INT32,
              rows: [
                [-2147483648, 0, 1],
                [9, 10, 11],
                [12, 13, 14],
                [15, 16, 17],
              ],
            },
          ],
          false,
        ),
      ),
    ])
    assert.deepEqual(await batchSizes(url, 'ints'), { 7: 1 })
    assert.deepEqual(v1.body.predictions, [[1, -2, 3]])
    assert.deepEqual(v2json.body.outputs[0].data, [4, 5, 6, -7, 8, 2147483647])
    assert.deepEqual(v2binary.json.outputs[0].data, [-2147483648, 0, 1, 9, 10, 11, 12, 13, 14, 15, 16, 17])
  })

  it('several inputs (FP32, INT32, UINT8): binary and JSON rows batched with V1 objects give back what each sent', async (t) => {
    const tensors = [
      { name: 'a', datatype: 'FP32' },
      { name: 'b', datatype: 'INT32' },
      { name: 'c', datatype: 'UINT8' },
    ]
    const dir = await modelDir({ 'three.onnx': identityOnnx(tensors, [2]) })
    const [descriptor] = await loadAll([join(dir, 'three.onnx')])
    descriptor.batch = { maxSize: 64, maxDelayMs: 500 }
    const { url } = await startServer([descriptor], { t })
    const infer = `${url}/v2/models/three/infer`
    const a = [
      [0.5, -1.25],
      [3, 4.75],
    ]
    const b = [
      [1, -2],
      [300000, 4],
    ]
    const c = [
      [0, 255],
      [7, 8],
    ]
    const [v1, v2json, v2binary] = await Promise.all([
      post(`${url}/v1/models/three:predict`, { instances: [{ x_a: [9.5, 9], x_b: [9, 9], x_c: [9, 9] }] }),
      post(infer, {
        inputs: [jsonTensor('x_a', 'FP32', a), jsonTensor('x_b', 'INT32', b), jsonTensor('x_c', 'UINT8', c)],
      }),
      postBinary(
        infer,
        binaryBody(
          [
            { name: 'x_a', element: FP32, rows: a },
            { name: 'x_b', element: INT32, rows: b },
            { name: 'x_c', element: UINT8, rows: c },
          ],
          false,
        ),
      ),
    ])
    assert.deepEqual(await batchSizes(url, 'three'), { 5: 1 })
    assert.deepEqual(v1.body.predictions, [{ y_a: [9.5, 9], y_b: [9, 9], y_c: [9, 9] }])
    for (const answer of [v2json.body, v2binary.json]) {
      const data = Object.fromEntries(answer.outputs.map((o: { name: string; data: number[] }) => [o.name, o.data]))
      assert.deepEqual(data, { y_a: a.flat(), y_b: b.flat(), y_c: c.flat() })
    }
  })

  it('FP16 and INT64 (no typed view: the rows go as numbers, through the schema): binary in gives what JSON in gives', async (t) => {
    const dir = await modelDir({
      'half.onnx': identityOnnx([{ name: 'h', datatype: 'FP16' }], [3]),
      'long.onnx': identityOnnx([{ name: 'l', datatype: 'INT64' }], [3]),
    })
    const { url } = await startServer([join(dir, 'half.onnx'), join(dir, 'long.onnx')], { t })
    const cases: [string, string, Element, number[][]][] = [
      ['half', 'x_h', FP16, [[1.5, -2, 0.5]]],
      ['long', 'x_l', INT64, [[2 ** 53 - 1, -(2 ** 40), 7]]],
    ]
    for (const [model, input, element, rows] of cases) {
      const infer = `${url}/v2/models/${model}/infer`
      const json = await post(infer, { inputs: [jsonTensor(input, element.datatype, rows)] })
      const binary = await postBinary(infer, binaryBody([{ name: input, element, rows }], false))
      assert.equal(json.status, 200, json.text)
      assert.equal(binary.status, 200, JSON.stringify(binary.json))
      assert.deepEqual(binary.json.outputs, json.body.outputs, model)
      assert.deepEqual(json.body.outputs[0].data, rows.flat(), model)
    }
  })
})

function assertClose(actual: number[], expected: number[]): void {
  assert.equal(actual.length, expected.length)
  for (const [i, x] of expected.entries())
    assert.ok(Math.abs(actual[i] - x) <= 1e-5 * Math.max(1, Math.abs(x)), `${i}: ${actual[i]} != ${x}`)
}
