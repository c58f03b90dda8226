import assert from 'node:assert/strict'
import { join } from 'node:path'
import { it } from 'node:test'
import { instanceSchema, readOnnxSignature, type OnnxSignature } from '../../src/model/onnx-schema.js'
import { compileInstanceValidator } from '../../src/model/validate.js'
import { example } from '../helpers/paths.js'

it('reads names, types and shapes from the iris graph', async () => {
  const signature = await readOnnxSignature(join(example('iris'), '1', 'model.onnx'))
  assert.deepEqual(signature.inputs, [{ name: 'input', type: 'float32', dims: [null, 4] }])
  assert.deepEqual(signature.outputs, [{ name: 'probabilities', type: 'float32', dims: [null, 3] }])
  assert.equal(signature.batched, true)
  assert.deepEqual(instanceSchema(signature), {
    type: 'array',
    items: { type: 'number', minimum: -3.4028234663852886e38, maximum: 3.4028234663852886e38 },
    minItems: 4,
    maxItems: 4,
  })
})

it('fixed dimensions are enforced, dynamic ones are free but rectangular, integers stay integers', () => {
  const signature: OnnxSignature = {
    inputs: [
      { name: 'tokens', type: 'int64', dims: [null, null, 2] },
      { name: 'mask', type: 'bool', dims: [null, 3] },
    ],
    outputs: [{ name: 'y', type: 'float32', dims: [null] }],
    batched: true,
  }
  const validate = compileInstanceValidator(instanceSchema(signature))
  validate([
    {
      tokens: [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      mask: [true, false, true],
    },
  ])
  const fails = (instance: unknown, path: string) =>
    assert.throws(
      () => validate([instance]),
      (error: { code: string; details: { path: string }[] }) => {
        assert.equal(error.code, 'INVALID_INPUT')
        assert.equal(error.details[0].path, path)
        return true
      },
    )
  fails({ tokens: [[1, 2], [3]], mask: [true, false, true] }, '/tokens') // ragged: the message says where (/1)
  fails({ tokens: [[1.5, 2]], mask: [true, false, true] }, '/tokens/0/0')
  fails({ tokens: [[1, 2]], mask: [true, false] }, '/mask')
  fails({ tokens: [[1, 2]] }, '/')
})

it('a dynamic inner dimension still has to be rectangular', () => {
  const signature: OnnxSignature = {
    inputs: [{ name: 'x', type: 'float32', dims: [null, null, null] }],
    outputs: [],
    batched: true,
  }
  const validate = compileInstanceValidator(instanceSchema(signature))
  validate([
    [
      [1, 2],
      [3, 4],
    ],
  ])
  assert.throws(() => validate([[[1, 2], [3]]]), /rectangular/)
})
