import { decodeImageInput, defineModel } from 'carafe'
import type { InferenceSession } from 'onnxruntime-node'
import { loadCharset } from '../../ocr-lib/ctc.js'
import { ppOcrV4Paths } from '../../ocr-lib/models.js'
import { detect } from '../../ocr-lib/pipeline.js'
import { recognize } from '../../ocr-lib/recognition.js'
import { boxSchema, detectionInput, detectionOptions, EXAMPLE_IMAGE, roundBox, type DetectionRequest } from '../../text-detection/1/schema.js'

// Set by setup(), once per worker.
let detection: InferenceSession | undefined
let recognition: InferenceSession | undefined
let charset: string[] = []

// PaddleOCR's drop_score: lines read with less confidence are left out.
const MIN_CONFIDENCE = 0.5

const lineSchema = {
  ...boxSchema,
  properties: { ...boxSchema.properties, text: { type: 'string' }, confidence: { type: 'number' } },
  required: [...boxSchema.required, 'text', 'confidence'],
}

export default defineModel({
  name: 'ocr',
  description: 'PP-OCRv4 OCR: detects the text lines of an image, straightens each and reads them all in one recognition batch.',
  input: detectionInput,
  output: {
    type: 'object',
    properties: { width: { type: 'integer' }, height: { type: 'integer' }, lines: { type: 'array', items: lineSchema } },
    required: ['width', 'height', 'lines'],
  },
  batch: { maxSize: 1, maxDelayMs: 0 },
  examples: [{ image: EXAMPLE_IMAGE }],

  async setup(ctx) {
    const paths = await ppOcrV4Paths()
    ;[detection, recognition, charset] = await Promise.all([ctx.onnx(paths.detectionPath), ctx.onnx(paths.recognitionPath), loadCharset(paths.dictionaryPath)])
  },

  async predict(inputs: DetectionRequest[]) {
    const out = []
    for (const input of inputs) {
      const image = await decodeImageInput(input.image)
      const boxes = await detect(image, detection!, detectionOptions(input))
      const reads = boxes.length ? await recognize(image, boxes.map((b) => b.points), recognition!, charset) : []
      const lines = boxes
        .map((box, i) => ({ ...roundBox(box), text: reads[i]!.text, confidence: Math.round(reads[i]!.confidence * 1e4) / 1e4 }))
        .filter((line) => line.text.length > 0 && line.confidence >= MIN_CONFIDENCE)
      out.push({ width: image.width, height: image.height, lines })
    }
    return out
  },
})
