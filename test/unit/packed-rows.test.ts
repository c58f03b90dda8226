import assert from 'node:assert/strict'
import { it } from 'node:test'
import type { ModelDescriptor } from '../../src/model/descriptor.js'
import type { OnnxSignature } from '../../src/model/onnx-schema.js'
import { rowPacker, unpackRows } from '../../src/model/packed-rows.js'

const onnx = (signature: OnnxSignature, extra: Partial<ModelDescriptor> = {}) =>
  ({ name: 'm', source: { kind: 'onnx', path: 'm.onnx', signature }, ...extra }) as unknown as ModelDescriptor
const input = (type: OnnxSignature['inputs'][number]['type'], dims: (number | null)[]) =>
  ({
    inputs: [{ name: 'x', type, dims }],
    outputs: [{ name: 'y', type: 'float32', dims: [null] }],
    batched: true,
  }) satisfies OnnxSignature

it('packs same-shaped rows into one typed array and gives them back as views of it', () => {
  const pack = rowPacker(onnx(input('float32', [null, 2, 2])))!
  const packed = pack([
    [
      [1, 2],
      [3, 4],
    ],
    [
      [5, 6],
      [7, 8.5],
    ],
  ])!
  assert.ok(packed.data instanceof Float32Array)
  assert.deepEqual([...packed.data], [1, 2, 3, 4, 5, 6, 7, 8.5])
  assert.deepEqual(packed.rowDims, [2, 2])
  const rows = unpackRows(packed)
  assert.equal(rows.length, 2)
  assert.deepEqual([...(rows[1].data as Float32Array)], [5, 6, 7, 8.5])
  assert.equal((rows[1].data as Float32Array).buffer, packed.data.buffer)
  assert.deepEqual(rows[1].dims, [2, 2])
})

it('converts elements as the predictor does: int64 to BigInt, bool to 0/1', () => {
  assert.deepEqual(
    [
      ...rowPacker(onnx(input('int64', [null, 2])))!([
        [1, 2],
        [3, 4],
      ])!.data,
    ],
    [1n, 2n, 3n, 4n],
  )
  assert.deepEqual([...rowPacker(onnx(input('bool', [null, 2])))!([[true, false]])!.data], [1, 0])
})

it('leaves a batch of different dynamic shapes unpacked, even with equal element counts', () => {
  const pack = rowPacker(onnx(input('float32', [null, null, null])))!
  assert.equal(
    pack([
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
    ]),
    undefined,
  )
  assert.equal(pack([[[1, 2]], [[1, 2, 3]]]), undefined)
})

it('packs only single-input, batched, numeric ONNX models without pre-processing', () => {
  assert.equal(
    rowPacker({ name: 'h', source: { kind: 'handler', path: 'h.ts' } } as unknown as ModelDescriptor),
    undefined,
  )
  assert.equal(rowPacker(onnx(input('string', [null, 2]))), undefined)
  assert.equal(rowPacker(onnx({ ...input('float32', [2]), batched: false })), undefined)
  assert.equal(
    rowPacker(
      onnx({
        ...input('float32', [null, 2]),
        inputs: [...input('float32', [null, 2]).inputs, { name: 'z', type: 'float32', dims: [null, 1] }],
      }),
    ),
    undefined,
  )
  assert.equal(
    rowPacker(onnx(input('float32', [null, 3, 8, 8]), { preprocess: {} as ModelDescriptor['preprocess'] })),
    undefined,
  )
})
