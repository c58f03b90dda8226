import { defineModel, type PredictContext } from 'carafe'
import { boxSchema, detectionInput, EXAMPLE_IMAGE, type DetectionRequest } from '../../text-detection/1/schema.js'

// PaddleOCR's drop_score: lines read with less confidence are left out.
const MIN_CONFIDENCE = 0.5

interface Box {
  points: number[][]
  box: number[]
  score: number
}
interface Detection {
  width: number
  height: number
  boxes: Box[]
}
interface Reading {
  lines: { text: string; confidence: number }[]
}

const lineSchema = {
  ...boxSchema,
  properties: { ...boxSchema.properties, text: { type: 'string' }, confidence: { type: 'number' } },
  required: [...boxSchema.required, 'text', 'confidence'],
}

/** Composed: text-detection finds the lines, then text-recognition straightens and reads all of them in one batch. */
export default defineModel({
  name: 'ocr',
  description:
    'PP-OCRv4 OCR composed of text-detection and text-recognition: each line of an image with its box, text and confidence, in reading order.',
  input: detectionInput,
  output: {
    type: 'object',
    properties: {
      width: { type: 'integer' },
      height: { type: 'integer' },
      lines: { type: 'array', items: lineSchema },
    },
    required: ['width', 'height', 'lines'],
  },
  batch: { maxSize: 1, maxDelayMs: 0 },
  examples: [{ image: EXAMPLE_IMAGE }],

  async predict(inputs: DetectionRequest[], ctx: PredictContext) {
    const models = ctx.models
    if (!models)
      throw new Error(
        'ocr needs ctx.models: serve it with `carafe serve examples/ocr`, which brings up text-detection and text-recognition',
      )
    // All images of the batch go to detection together, then every image's boxes to recognition together.
    const detections = (await models.get('text-detection').predict(inputs)) as Detection[]
    const wanted = inputs
      .map((input, i) => ({ input, detection: detections[i]! }))
      .filter(({ detection }) => detection.boxes.length > 0)
    const readings = wanted.length
      ? ((await models
          .get('text-recognition')
          .predict(
            wanted.map(({ input, detection }) => ({ image: input.image, boxes: detection.boxes.map((b) => b.points) })),
          )) as Reading[])
      : []
    return detections.map(({ width, height, boxes }, i) => {
      const k = wanted.findIndex((w) => w.input === inputs[i])
      const lines =
        k < 0
          ? []
          : boxes
              .map((box, j) => ({ ...box, ...readings[k]!.lines[j]! }))
              .filter((line) => line.text.length > 0 && line.confidence >= MIN_CONFIDENCE)
      return { width, height, lines }
    })
  },
})
