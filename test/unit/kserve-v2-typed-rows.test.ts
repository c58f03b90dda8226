import assert from 'node:assert/strict'
import { it } from 'node:test'
import { pino } from 'pino'
import { loadConfig } from '../../src/config/index.js'
import { decodeV2 } from '../../src/http/protocols/kserve-v2.js'
import { parseInferRequest } from '../../src/http/protocols/v2-request.js'
import type { ModelDescriptor } from '../../src/model/descriptor.js'
import { instanceSchema, type OnnxSignature } from '../../src/model/onnx-schema.js'
import { rowPacker } from '../../src/model/packed-rows.js'
import type { TensorLike } from '../../src/model/tensor.js'
import type { Runner } from '../../src/runtime/index.js'
import { canonicalJson } from '../../src/serving/prediction-cache.js'
import { ServedModel } from '../../src/serving/served-model.js'

// The V2 fast path: rows decoded from tensors are typed arrays, the serving layer takes them without its JSON Schema
// check, and the runner's packer stacks them with V1's nested arrays.

const signature = (type: OnnxSignature['inputs'][number]['type']): OnnxSignature => ({
  inputs: [{ name: 'input', type, dims: [null, 3] }],
  outputs: [{ name: 'output', type: 'float32', dims: [null, 3] }],
  batched: true,
})
const onnx = (sig: OnnxSignature): ModelDescriptor =>
  ({
    name: 'm',
    version: '1',
    description: '',
    dir: '.',
    source: { kind: 'onnx', path: 'm.onnx', signature: sig },
    input: instanceSchema(sig),
    examples: [],
    batch: { maxSize: 64, maxDelayMs: 0 },
    settings: {},
  }) as ModelDescriptor

const rows = [
  [0.5, 1, -2],
  [3, 4.25, 5],
]

function binaryRequest(datatype: string, bytes: Buffer) {
  const request = parseInferRequest({
    inputs: [{ name: 'input', datatype, shape: [2, 3], parameters: { binary_data_size: bytes.length } }],
  })
  return { request, bytes }
}

const fp32 = () => {
  const bytes = Buffer.alloc(24)
  for (const [i, x] of rows.flat().entries()) bytes.writeFloatLE(x, i * 4)
  return binaryRequest('FP32', bytes)
}

it('a binary FP32 tensor decodes to typed rows (views on one Float32Array), marked checked', () => {
  const { request, bytes } = fp32()
  const { instances, checked } = decodeV2(request, onnx(signature('float32')), 100, bytes)
  assert.equal(checked, true)
  assert.equal(instances.length, 2)
  const [a, b] = instances as TensorLike[]
  assert.ok(a.data instanceof Float32Array, 'no array of numbers is built')
  assert.equal((a.data as Float32Array).buffer, (b.data as Float32Array).buffer, 'rows share the one buffer')
  assert.deepEqual(a.dims, [3])
  assert.deepEqual(Array.from(a.data), rows[0])
  assert.deepEqual(Array.from(b.data), rows[1])
})

it('flat JSON data decodes to typed rows of the JSON values (float64), marked checked', () => {
  const request = parseInferRequest({ inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 3], data: rows.flat() }] })
  const { instances, checked } = decodeV2(request, onnx(signature('float32')), 100)
  assert.equal(checked, true)
  const [a] = instances as TensorLike[]
  assert.ok(a.data instanceof Float64Array)
  assert.deepEqual(Array.from(a.data), rows[0])
})

it('types without a typed view of their values (FP16, INT64) still decode to arrays of numbers, not checked', () => {
  const bytes = Buffer.alloc(48)
  for (const [i, x] of rows.flat().entries()) bytes.writeBigInt64LE(BigInt(Math.round(x)), i * 8)
  const { request } = binaryRequest('INT64', bytes)
  const { instances, checked } = decodeV2(request, onnx(signature('int64')), 100, bytes)
  assert.equal(checked, false)
  assert.deepEqual(instances, [
    [1, 1, -2],
    [3, 4, 5],
  ])
})

it('the serving layer hands checked typed rows to the runner as they are, without the JSON Schema check', async () => {
  const seen: unknown[][] = []
  const runner: Runner = {
    state: 'ready',
    restarts: 0,
    start: async () => ({ warmupMs: 0 }),
    whenReady: async () => undefined,
    run: async (inputs) => {
      seen.push(inputs)
      return inputs.map(() => [0, 0, 1])
    },
    close: async () => undefined,
  }
  const model = new ServedModel(
    onnx(signature('float32')),
    loadConfig({ flags: {} }),
    pino({ level: 'silent' }),
    runner,
  )
  await model.start()
  try {
    const { request, bytes } = fp32()
    const { instances, checked } = decodeV2(request, model.descriptor, 100, bytes)
    assert.deepEqual(await model.predict(instances, { checked }), [
      [0, 0, 1],
      [0, 0, 1],
    ])
    assert.equal(seen.length, 1)
    assert.equal(seen[0][0], instances[0], 'the very row objects reach the runner')
    // the same rows unmarked go through the schema, which takes arrays of numbers only
    await assert.rejects(async () => model.predict(instances), { code: 'INVALID_INPUT' })
  } finally {
    await model.close()
  }
})

it('the runner packs typed rows and nested arrays of one batch into one typed array', () => {
  const pack = rowPacker(onnx(signature('float32')))!
  const { request, bytes } = fp32()
  const binary = decodeV2(request, onnx(signature('float32')), 100, bytes).instances
  const json = decodeV2(
    parseInferRequest({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3], data: [7, 8, 9.5] }] }),
    onnx(signature('float32')),
    100,
  ).instances
  const packed = pack([[1, 2, 3], ...binary, ...json])!
  assert.ok(packed.data instanceof Float32Array)
  assert.deepEqual([...packed.data], [1, 2, 3, ...rows.flat(), 7, 8, 9.5])
  assert.equal(packed.rows, 4)
  // int64 rows are converted one by one (BigInt); a typed row of another size leaves the batch unpacked
  const longs = rowPacker(onnx(signature('int64')))!
  assert.deepEqual(
    [...longs([{ data: new Float64Array([1, 2, 3]), dims: [3] }, [4, 5, 6]])!.data],
    [1n, 2n, 3n, 4n, 5n, 6n],
  )
  assert.equal(pack([[1, 2, 3], { data: new Float32Array(4), dims: [4] }]), undefined)
})

it('a typed row has the cache key of the same values sent as a nested array', () => {
  const row: TensorLike = { data: new Float64Array([0.1, 2, 3, 4]), dims: [2, 2] }
  assert.equal(
    canonicalJson(row),
    canonicalJson([
      [0.1, 2],
      [3, 4],
    ]),
  )
  assert.equal(
    canonicalJson({ b: row, a: 1 }),
    canonicalJson({
      a: 1,
      b: [
        [0.1, 2],
        [3, 4],
      ],
    }),
  )
})

it('typed rows skip the schema, so V2 holds FP32 to its bound: a JSON number just above the largest float32 is refused', () => {
  // 3.4028235e38 rounds to the largest float32 (finite), but the model's schema (maximum 3.4028234663852886e38) refuses it
  const request = parseInferRequest({
    inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3], data: [1, 3.4028235e38, 2] }],
  })
  assert.throws(() => decodeV2(request, onnx(signature('float32')), 100), {
    code: 'INVALID_INPUT',
    message: 'input "input": element 1 is out of range for FP32 (±3.4e38) (FP32)',
  })
  const largest = parseInferRequest({
    inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3], data: [1, -3.4028234663852886e38, 2] }],
  })
  assert.equal(decodeV2(largest, onnx(signature('float32')), 100).checked, true)
})
