import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import { parse as parseYaml } from 'yaml'
import { preprocessDetection, detectionSize } from '../../examples/ocr-lib/detection-pre.js'
import { mulberry32 } from '../../examples/prng.js'
import type { CarafeError } from '../../src/errors.js'
import { ModelLoadError } from '../../src/model/load-error.js'
import type { JsonSchema } from '../../src/model/contract.js'
import type { OnnxSignature } from '../../src/model/onnx-schema.js'
import { preprocessedInputSchema } from '../../src/model/preprocess-check.js'
import { prepareImage, resizePlan } from '../../src/model/preprocess-image.js'
import type { ImagePreprocess } from '../../src/model/preprocess-spec.js'
import { example } from '../helpers/paths.js'

/** A PNG of seeded noise: every pixel differs, so any channel, layout or resize slip changes the tensor. */
async function noisePng(width: number, height: number, seed: number): Promise<Buffer> {
  const random = mulberry32(seed)
  const pixels = Buffer.alloc(width * height * 3)
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.floor(random() * 256)
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer()
}

/** 2x2 image, pixels in row order: red, green / blue, (10, 20, 30). */
const QUAD = [
  [255, 0, 0],
  [0, 255, 0],
  [0, 0, 255],
  [10, 20, 30],
]
const quadPng = () =>
  sharp(Buffer.from(QUAD.flat()), { raw: { width: 2, height: 2, channels: 3 } })
    .png()
    .toBuffer()

describe('declarative image pre-processing', () => {
  it("with the text-detection carafe.yaml, makes exactly the tensor of ocr-lib's hand-written PaddleOCR pre-processing", async () => {
    const spec = (
      parseYaml(await readFile(join(example('text-detection'), 'carafe.yaml'), 'utf8')) as {
        preprocess: { image: ImagePreprocess }
      }
    ).preprocess.image
    // sizes around the 32-multiple rounding edges and over the 960 limit
    for (const [width, height, seed] of [
      [200, 48, 1],
      [80, 80, 2],
      [1000, 300, 3],
      [33, 977, 4],
      [640, 208, 5],
    ] as const) {
      const png = await noisePng(width, height, seed)
      const mine = await prepareImage(png.toString('base64'), spec)
      const theirs = await preprocessDetection(png)
      assert.deepEqual([1, ...mine.dims], theirs.dims, `${width}x${height}`)
      assert.deepEqual(mine.data, theirs.data, `${width}x${height}: tensors differ`)
      assert.equal(mine.scaleX, theirs.scaleX)
      assert.equal(mine.scaleY, theirs.scaleY)
      assert.deepEqual([mine.originalWidth, mine.originalHeight], [width, height])
    }
  })

  it("maxSide + multipleOf sizes match PaddleOCR's DetResizeForTest (round half to even)", () => {
    for (const [w, h] of [
      [640, 240],
      [640, 208],
      [2000, 1000],
      [10, 10],
      [48, 80],
      [959, 961],
    ]) {
      const plan = resizePlan(w, h, { resize: { maxSide: 960, multipleOf: 32 } })
      assert.deepEqual({ width: plan.width, height: plan.height }, detectionSize(w, h), `${w}x${h}`)
    }
  })

  it('fill, cover and contain give sizes and offsets that map tensor pixels back to the image', () => {
    assert.deepEqual(resizePlan(400, 200, { resize: { width: 100, height: 100 } }), {
      scaledWidth: 100,
      scaledHeight: 100,
      width: 100,
      height: 100,
      offsetX: 0,
      offsetY: 0,
    })
    const cover = resizePlan(400, 200, { resize: { width: 100, height: 100, fit: 'cover' } })
    assert.deepEqual(cover, {
      scaledWidth: 200,
      scaledHeight: 100,
      width: 100,
      height: 100,
      offsetX: -50,
      offsetY: -0,
      crop: { left: 50, top: 0, width: 100, height: 100 },
    })
    const contain = resizePlan(400, 200, { resize: { width: 100, height: 100, fit: 'contain' } })
    assert.deepEqual(contain, {
      scaledWidth: 100,
      scaledHeight: 50,
      width: 100,
      height: 100,
      offsetX: 0,
      offsetY: 25,
      extend: { left: 0, top: 25, right: 0, bottom: 25 },
    })
    // no resize: the image as it is
    assert.deepEqual(resizePlan(7, 5, {}), {
      scaledWidth: 7,
      scaledHeight: 5,
      width: 7,
      height: 5,
      offsetX: 0,
      offsetY: 0,
    })
  })

  it('letterboxes with the pad level and reports where the image sits', async () => {
    const wide = await sharp({ create: { width: 40, height: 20, channels: 3, background: '#ffffff' } })
      .png()
      .toBuffer()
    const p = await prepareImage(wide, {
      resize: { width: 8, height: 8, fit: 'contain' },
      dtype: 'uint8',
      layout: 'HWC',
      pad: 114,
    })
    assert.deepEqual(p.dims, [8, 8, 3])
    assert.equal(p.offsetY, 2)
    assert.equal(p.scaleX, 5)
    const row = (y: number) => Array.from(p.data.slice(y * 24, y * 24 + 3))
    assert.deepEqual(row(0), [114, 114, 114]) // padding above
    assert.deepEqual(row(4), [255, 255, 255]) // the image
    assert.deepEqual(row(7), [114, 114, 114]) // padding below
  })

  it('orders channels, lays out planes and normalizes exactly as declared', async () => {
    const png = await quadPng()
    const chw = await prepareImage(png, { channels: 'RGB', layout: 'CHW' })
    assert.deepEqual(chw.dims, [3, 2, 2])
    assert.deepEqual(
      Array.from(chw.data),
      [255, 0, 0, 10, 0, 255, 0, 20, 0, 0, 255, 30].map((v) => Math.fround(v / 255)),
    )

    const bgrHwc = await prepareImage(png, { channels: 'BGR', layout: 'HWC', dtype: 'uint8' })
    assert.deepEqual(bgrHwc.dims, [2, 2, 3])
    assert.deepEqual(
      Array.from(bgrHwc.data),
      QUAD.flatMap((p) => [...p].reverse()),
    )

    const normalized = await prepareImage(png, { range: [-1, 1], mean: [0.5, 0, 0], std: [2, 1, 0.5] })
    const expect = (v: number, c: number) => Math.fround(((v / 255) * 2 - 1 - [0.5, 0, 0][c]!) / [2, 1, 0.5][c]!)
    const planes = [0, 1, 2].flatMap((c) => QUAD.map((p) => expect(p[c]!, c)))
    assert.deepEqual(Array.from(normalized.data), planes)

    const gray = await prepareImage(png, { channels: 'GRAY', dtype: 'uint8' })
    assert.deepEqual(gray.dims, [1, 2, 2])
    assert.ok(
      gray.data[1]! > gray.data[0]! && gray.data[0]! > gray.data[2]!,
      `luma of green > red > blue: ${Array.from(gray.data)}`,
    )
  })

  it('refuses undecodable and oversized images with the client error codes', async () => {
    await assert.rejects(prepareImage('bm90IGFuIGltYWdl', {}), (e: CarafeError) => e.code === 'INVALID_IMAGE')
    await assert.rejects(
      prepareImage(await quadPng(), { maxPixels: 3 }),
      (e: CarafeError) => e.code === 'IMAGE_TOO_LARGE',
    )
    await assert.rejects(
      prepareImage(await quadPng(), { maxBytes: 10 }),
      (e: CarafeError) => e.code === 'IMAGE_TOO_LARGE',
    )
  })

  describe('checked against the model at load time', () => {
    const signature = (
      dims: (number | null)[],
      type: 'float32' | 'uint8' = 'float32',
      names = ['pixel_values'],
    ): OnnxSignature => ({
      inputs: names.map((name) => ({ name, type, dims })),
      outputs: [{ name: 'scores', type: 'float32', dims: [null, 3] }],
      batched: dims[0] === null,
    })
    const load = (
      preprocess: Record<string, ImagePreprocess>,
      sig: OnnxSignature | undefined,
      input: JsonSchema = {},
    ) => preprocessedInputSchema(preprocess, input, sig, 'carafe.yaml')
    const refuses = (fn: () => unknown, words: RegExp) =>
      assert.throws(fn, (e: Error) => e instanceof ModelLoadError && words.test(e.message))

    it('a matching ONNX input becomes an image field named as declared', () => {
      const schema = load({ image: { resize: { width: 224, height: 224 } } }, signature([null, 3, 224, 224]))
      assert.deepEqual(schema.required, ['image'])
      assert.equal((schema.properties as Record<string, Record<string, unknown>>).image!['x-carafe-image'], true)
      // a batch dimension fixed at 1, the way many exporters write it
      assert.doesNotThrow(() =>
        load({ image: { resize: { width: 8, height: 8 }, layout: 'HWC' } }, signature([1, 8, 8, 3])),
      )
    })

    it('names the field and the shapes when they cannot fit', () => {
      refuses(
        () => load({ image: { resize: { width: 224, height: 224 } } }, signature([null, 3, 256, 256])),
        /preprocess\.image: input "pixel_values" takes \[3, 256, 256\].*\[3, 224, 224\]/,
      )
      refuses(
        () => load({ image: { layout: 'HWC', resize: { width: 4, height: 4 } } }, signature([null, 3, 4, 4])),
        /layout/,
      )
      refuses(() => load({ image: { resize: { maxSide: 512 } } }, signature([null, 3, 224, 224])), /\[3, \?, \?\]/)
      refuses(() => load({ image: {} }, signature([null, 3, 224, 224], 'uint8')), /is uint8.*set dtype/)
      refuses(() => load({ image: { input: 'nope' } }, signature([null, 3, null, null])), /no input "nope"/)
      refuses(() => load({ a: {} }, signature([null, 3, null, null], 'float32', ['a', 'b'])), /b would have none/)
      refuses(
        () => load({ image: { dtype: 'uint8', mean: [1] } }, undefined, { type: 'object', properties: { image: {} } }),
        /uint8.*remove range, mean and std/,
      )
      refuses(
        () => load({ image: { mean: [1, 2] } }, undefined, { type: 'object', properties: { image: {} } }),
        /mean: 2 values for 3 channel/,
      )
      refuses(() => load({ photo: {} }, undefined, { type: 'object', properties: { image: {} } }), /no field "photo"/)
    })
  })
})
