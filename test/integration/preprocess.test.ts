import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import sharp from 'sharp'
import { writeOnnx } from '../../examples/onnx-writer.js'
import { colourClassifierOnnx } from '../helpers/colour-model.js'
import { modelDir } from '../helpers/model-dir.js'
import { assertNoStack, get, post, startServer, type TestServer } from '../helpers/server.js'

// Two ONNX models with no code at all: carafe.yaml declares how an image becomes their input tensor.

const colourClassifier = colourClassifierOnnx()

const COLOURS_YAML = `
name: colours
labels: [red, green, blue]
batch: { maxSize: 8, maxDelayMs: 20 }
preprocess:
  image:
    resize: { width: 4, height: 4, fit: cover }
    channels: RGB
    layout: CHW
`

/** Returns its input: the tensor the pre-processing made, as the model sees it. */
const identity = writeOnnx({
  name: 'identity',
  nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
  initializers: [],
  inputs: [{ name: 'x', featureDims: [3, 2, 2] }],
  outputs: [{ name: 'y', featureDims: [3, 2, 2] }],
})

/** The same, exported with its batch dimension fixed at 1 ([1, 3, 2, 2]), as many exporters write image models. */
const identityOne = writeOnnx({
  name: 'identity-one',
  nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
  initializers: [],
  inputs: [{ name: 'x', featureDims: [3, 2, 2], fixedBatch: 1 }],
  outputs: [{ name: 'y', featureDims: [3, 2, 2], fixedBatch: 1 }],
})

const IDENTITY_YAML = `
name: identity
preprocess:
  photo:
    input: x
    resize: { width: 2, height: 2, kernel: nearest }
    channels: BGR
    range: [0, 1]
    mean: [0.5]
    std: [0.5]
`

const solid = (hex: string, width = 30, height = 20) =>
  sharp({ create: { width, height, channels: 3, background: hex } })
    .png()
    .toBuffer()
/** 2x2 pixels in row order: red, green / blue, (10, 20, 30). */
const QUAD = [
  [255, 0, 0],
  [0, 255, 0],
  [0, 0, 255],
  [10, 20, 30],
]

describe('declarative image pre-processing (carafe.yaml preprocess) on ONNX models', () => {
  let server: TestServer
  let red: string
  let green: Buffer
  let blue: Buffer
  before(async () => {
    const colours = await modelDir({ 'carafe.yaml': COLOURS_YAML, '1/model.onnx': colourClassifier })
    const ident = await modelDir({ 'carafe.yaml': IDENTITY_YAML, '1/model.onnx': identity })
    const identOne = await modelDir({
      'carafe.yaml': IDENTITY_YAML.replace('name: identity', 'name: identity-one'),
      '1/model.onnx': identityOne,
    })
    server = await startServer([colours, ident, identOne])
    ;[red, green, blue] = [
      (await solid('#e01010')).toString('base64'),
      await solid('#10c020', 50, 90),
      await solid('#2020f0', 9, 7),
    ]
  })
  after(() => server?.close())
  const predict = (model: string, body: unknown) => post(`${server.url}/v1/models/${model}:predict`, body)

  it('classifies images sent as base64, a data URL and {"b64"} (labels applied to the scores)', async () => {
    const { status, body, text } = await predict('colours', {
      instances: [
        { image: red },
        { image: `data:image/png;base64,${green.toString('base64')}` },
        { image: { b64: blue.toString('base64') } },
      ],
    })
    assert.equal(status, 200, text)
    assert.deepEqual(
      body.predictions.map((p: { label: string }) => p.label),
      ['red', 'green', 'blue'],
    )
  })

  it('takes a multipart upload', async () => {
    const form = new FormData()
    form.append('image', new Blob([new Uint8Array(blue)], { type: 'image/png' }), 'blue.png')
    const response = await fetch(`${server.url}/v1/models/colours:predict`, { method: 'POST', body: form })
    const body = (await response.json()) as { predictions: { label: string }[] }
    assert.equal(response.status, 200, JSON.stringify(body))
    assert.equal(body.predictions[0]!.label, 'blue')
  })

  it('feeds the model exactly the declared tensor: resize, BGR planes, mean and std', async () => {
    const quad = await sharp(Buffer.from(QUAD.flat()), { raw: { width: 2, height: 2, channels: 3 } })
      .png()
      .toBuffer()
    const { status, body, text } = await predict('identity', { instances: [{ photo: quad.toString('base64') }] })
    assert.equal(status, 200, text)
    // plane c holds channel 2 - c (BGR); each value (v / 255 - 0.5) / 0.5
    const expected = [2, 1, 0].map((c) =>
      [
        [QUAD[0]![c]!, QUAD[1]![c]!],
        [QUAD[2]![c]!, QUAD[3]![c]!],
      ].map((row) => row.map((v) => (v / 255 - 0.5) / 0.5)),
    )
    const got = body.predictions[0] as number[][][]
    assert.deepEqual(
      got.map((p) => p.map((r) => r.length)),
      [
        [2, 2],
        [2, 2],
        [2, 2],
      ],
    )
    for (const [i, v] of got.flat(2).entries()) {
      assert.ok(Math.abs(v - expected.flat(2)[i]!) < 1e-6, `value ${i}: ${v} vs ${expected.flat(2)[i]}`)
    }
  })

  it('feeds a model whose batch dimension is fixed at 1 one image per run; V2 asks for one image per request', async () => {
    const [a, b] = [await solid('#ff0000', 4, 4), await solid('#0000ff', 4, 4)].map((png) => png.toString('base64'))
    const { status, body, text } = await predict('identity-one', { instances: [{ photo: a }, { photo: b }] })
    assert.equal(status, 200, text)
    // [1, 3, 2, 2] each; BGR planes: red is (0, 0, 255) → plane 2 high for a, plane 0 high for b
    const planeMeans = (p: number[][][][]) => p[0]!.map((plane) => plane.flat().reduce((x, y) => x + y, 0) / 4)
    assert.deepEqual(planeMeans(body.predictions[0]).map(Math.round), [-1, -1, 1])
    assert.deepEqual(planeMeans(body.predictions[1]).map(Math.round), [1, -1, -1])
    const two = await post(`${server.url}/v2/models/identity-one/infer`, {
      inputs: [{ name: 'photo', datatype: 'BYTES', shape: [2], data: [a, b] }],
    })
    assert.equal(two.status, 400, two.text)
    assert.equal(two.body.code, 'INVALID_INPUT')
    assert.match(two.body.error, /one image per request/)
    const one = await post(`${server.url}/v2/models/identity-one/infer`, {
      inputs: [{ name: 'photo', datatype: 'BYTES', shape: [1], data: [a] }],
    })
    assert.equal(one.status, 200, one.text)
    assert.deepEqual(one.body.outputs[0].shape, [1, 3, 2, 2])
  })

  it('describes the image field in the model description, OpenAPI and V2 metadata', async () => {
    const { body } = await get(`${server.url}/v1/models/colours`)
    assert.equal(body.input.properties.image['x-carafe-image'], true)
    assert.deepEqual(body.preprocess.image.resize, { width: 4, height: 4, fit: 'cover' })
    const openapi = (await get(`${server.url}/openapi.json`)).text
    assert.ok(openapi.includes('x-carafe-image'), 'the OpenAPI document shows the image field')
    const v2 = await get(`${server.url}/v2/models/identity`)
    assert.deepEqual(v2.body.inputs, [{ name: 'photo', datatype: 'BYTES', shape: [-1] }])
  })

  it('answers KServe V2 requests carrying base64 images in a BYTES tensor', async () => {
    const { status, body, text } = await post(`${server.url}/v2/models/colours/infer`, {
      inputs: [{ name: 'image', datatype: 'BYTES', shape: [2], data: [green.toString('base64'), red] }],
    })
    assert.equal(status, 200, text)
    assert.deepEqual(body.outputs.find((o: { name: string }) => o.name === 'label').data, ['green', 'red'])
  })

  it('an undecodable image is 400 INVALID_IMAGE naming the instance and field, and fails only its own request when batched with others', async () => {
    const bad = Buffer.from('not an image at all').toString('base64')
    const batchesBefore = (await get(`${server.url}/v1/models/colours`)).body.stats.batches as number
    const requests = Array.from({ length: 12 }, (_, i) =>
      predict('colours', { instances: [{ image: i === 5 ? bad : red }] }),
    )
    const answers = await Promise.all(requests)
    answers.forEach((a, i) => {
      if (i !== 5) {
        assert.equal(a.status, 200, `request ${i}: ${a.text}`)
        return
      }
      assert.equal(a.status, 400, a.text)
      assert.equal(a.body.error.code, 'INVALID_IMAGE')
      assert.deepEqual(a.body.error.details[0].path, '/image')
      assert.equal(a.body.error.details[0].instance, 0)
      assertNoStack(a.text)
    })
    assert.ok(answers.filter((a) => a.status === 200).every((a) => a.body.predictions[0].label === 'red'))
    // Batching really happened: 8 items at most per batch, so the 12 requests make two batches, at least one of them
    // without the bad image; the 11 good answers then took fewer than 11 successful runs (a failed run is not counted).
    const batches = (await get(`${server.url}/v1/models/colours`)).body.stats.batches - batchesBefore
    assert.ok(batches < 11, `the 11 good images ran in ${batches} batches: they were not batched together`)
  })

  it('a field that is not an image, or no image, is refused by the schema before the model queue; V2 refuses a wrong tensor type or bytes that are no image', async () => {
    const { status, body } = await predict('colours', { instances: [{ image: 42 }] })
    assert.equal(status, 400)
    assert.equal(body.error.code, 'INVALID_INPUT')
    const missing = await predict('colours', { instances: [{}] })
    assert.equal(missing.status, 400, missing.text)
    assert.equal(missing.body.error.code, 'INVALID_INPUT')
    // V2: the image field must be a BYTES tensor, and its rows real images
    const wrongType = await post(`${server.url}/v2/models/colours/infer`, {
      inputs: [{ name: 'image', datatype: 'FP32', shape: [1], data: [1] }],
    })
    assert.equal(wrongType.status, 400, wrongType.text)
    assert.equal(wrongType.body.code, 'INVALID_INPUT')
    const notImage = await post(`${server.url}/v2/models/colours/infer`, {
      inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: ['aGVsbG8='] }],
    })
    assert.equal(notImage.status, 400, notImage.text)
    assert.equal(notImage.body.code, 'INVALID_IMAGE')
    assertNoStack(notImage.text)
  })
})
