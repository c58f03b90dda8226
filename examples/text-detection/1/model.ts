import { defineModel, type PreparedImage } from 'carafe'
import type { InferenceSession } from 'onnxruntime-node'
import { ppOcrV4Paths } from '../../ocr-lib/models.js'
import { detectPrepared } from '../../ocr-lib/pipeline.js'
import {
  boxSchema,
  detectionInput,
  detectionOptions,
  EXAMPLE_IMAGE,
  roundBox,
  type DetectionRequest,
} from './schema.js'

// Set by setup(), once per worker.
let session: InferenceSession | undefined

export default defineModel({
  name: 'text-detection',
  description: 'PP-OCRv4 text detection: the lines of text in an image, as rotated boxes with a score.',
  input: detectionInput,
  output: {
    type: 'object',
    properties: { width: { type: 'integer' }, height: { type: 'integer' }, boxes: { type: 'array', items: boxSchema } },
    required: ['width', 'height', 'boxes'],
  },
  // Batching does not help here: each image has its own size, and the CPU is busy with one already.
  batch: { maxSize: 1, maxDelayMs: 0 },
  examples: [{ image: EXAMPLE_IMAGE }],

  async setup(ctx) {
    session = await ctx.onnx((await ppOcrV4Paths()).detectionPath)
  },

  async predict(inputs: DetectionRequest[]) {
    const out = []
    for (const input of inputs) {
      // carafe.yaml's `preprocess` has already decoded, resized and normalized the image in this runner.
      const image = input.image as PreparedImage
      const tensor = { ...image, data: image.data as Float32Array, dims: [1, ...image.dims] }
      const boxes = await detectPrepared(tensor, session!, detectionOptions(input))
      out.push({ width: image.originalWidth, height: image.originalHeight, boxes: boxes.map(roundBox) })
    }
    return out
  },
})
