import { decodeImageInput, defineModel, imageSchema } from 'carafe'
import type { InferenceSession } from 'onnxruntime-node'
import { loadCharset } from '../../ocr-lib/ctc.js'
import type { Quad } from '../../ocr-lib/geometry.js'
import { ppOcrV4Paths } from '../../ocr-lib/models.js'
import { recognize } from '../../ocr-lib/recognition.js'
import { EXAMPLE_IMAGE } from '../../text-detection/1/schema.js'

// Set by setup(), once per worker.
let session: InferenceSession | undefined
let charset: string[] = []

interface RecognitionRequest {
  image: unknown
  /** Quads to read, in image pixels; the whole image is one line when absent. */
  boxes?: Quad[]
}

const point = { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 }
const MAX_BOXES = 500 // every crop goes into one batch tensor

export default defineModel({
  name: 'text-recognition',
  description:
    'PP-OCRv4 text recognition with CTC decoding: reads each given quad of an image (or the whole image as one line).',
  input: {
    type: 'object',
    properties: {
      image: imageSchema(),
      boxes: {
        type: 'array',
        maxItems: MAX_BOXES,
        items: { type: 'array', items: point, minItems: 4, maxItems: 4 },
        description: 'quads to read (corners clockwise from top-left, pixels)',
      },
    },
    required: ['image'],
    additionalProperties: false,
  },
  output: {
    type: 'object',
    properties: {
      lines: {
        type: 'array',
        items: {
          type: 'object',
          properties: { text: { type: 'string' }, confidence: { type: 'number' } },
          required: ['text', 'confidence'],
        },
      },
    },
    required: ['lines'],
  },
  batch: { maxSize: 1, maxDelayMs: 0 },
  examples: [{ image: EXAMPLE_IMAGE }],

  async setup(ctx) {
    const paths = await ppOcrV4Paths()
    ;[session, charset] = await Promise.all([ctx.onnx(paths.recognitionPath), loadCharset(paths.dictionaryPath)])
  },

  async predict(inputs: RecognitionRequest[]) {
    const out = []
    for (const input of inputs) {
      const image = await decodeImageInput(input.image)
      const { width: w, height: h } = image
      const quads = input.boxes ?? [
        [
          [0, 0],
          [w, 0],
          [w, h],
          [0, h],
        ] as Quad,
      ]
      const reads = await recognize(image, quads, session!, charset)
      out.push({ lines: reads.map((r) => ({ text: r.text, confidence: Math.round(r.confidence * 1e4) / 1e4 })) })
    }
    return out
  },
})
