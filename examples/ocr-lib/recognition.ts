/** Text recognition: straighten each box, batch at height 48, run the model once, decode CTC. */

import ort from 'onnxruntime-node'
import { cropQuad } from './crop.js'
import { ctcGreedyDecode, type Recognition } from './ctc.js'
import type { Point, Quad } from './geometry.js'
import type { RawImage } from './image.js'

export type { Recognition } from './ctc.js'

// PP-OCRv4 rec_image_shape is 3 x 48 x 320; the width grows with the widest crop, as PaddleOCR does.
const REC_HEIGHT = 48
const REC_MIN_WIDTH = 320
// Every crop in the single batch is padded to the widest one, so cap it: longer lines are squeezed.
export const REC_MAX_WIDTH = 2048
// PaddleOCR turns crops this much taller than wide by 90° (vertical text).
const VERTICAL_ASPECT = 1.5

export interface RecognitionBatch {
  /** NCHW [n, 3, 48, width], planes in B, G, R order, values in -1..1, zero (mid-grey) padding. */
  data: Float32Array
  dims: [number, 3, number, number]
}

const distance = (a: Point, b: Point): number => Math.hypot(a[0] - b[0], a[1] - b[1])

/** Crops, straightens and normalizes every quad into one tensor. */
export function buildRecognitionBatch(
  image: RawImage,
  quads: readonly Quad[],
  maxWidth = REC_MAX_WIDTH,
): RecognitionBatch {
  const crops = quads.map((quad) => {
    const w = Math.max(1, Math.max(distance(quad[0], quad[1]), distance(quad[2], quad[3])))
    const h = Math.max(1, Math.max(distance(quad[0], quad[3]), distance(quad[1], quad[2])))
    // Rotating the corner order by one is np.rot90 (counter-clockwise) of the crop.
    return h / w >= VERTICAL_ASPECT
      ? { quad: [quad[1], quad[2], quad[3], quad[0]] as Quad, ratio: h / w }
      : { quad, ratio: w / h }
  })
  const widest = Math.max(REC_MIN_WIDTH / REC_HEIGHT, ...crops.map((c) => c.ratio))
  const batchWidth = Math.min(maxWidth, Math.trunc(REC_HEIGHT * widest))
  const plane = REC_HEIGHT * batchWidth
  const data = new Float32Array(crops.length * 3 * plane)
  crops.forEach(({ quad, ratio }, n) => {
    const width = Math.min(batchWidth, Math.ceil(REC_HEIGHT * ratio))
    const rgb = cropQuad(image, quad, width, REC_HEIGHT)
    const base = n * 3 * plane
    for (let y = 0; y < REC_HEIGHT; y++) {
      for (let x = 0; x < width; x++) {
        const src = (y * width + x) * 3
        const dst = base + y * batchWidth + x
        for (let c = 0; c < 3; c++) data[dst + c * plane] = (rgb[src + 2 - c]! / 255 - 0.5) / 0.5
      }
    }
  })
  return { data, dims: [crops.length, 3, REC_HEIGHT, batchWidth] }
}

/** Reads the text in each quad with one model run; results are in the quads' order. */
export async function recognize(
  image: RawImage,
  quads: readonly Quad[],
  session: ort.InferenceSession,
  charset: readonly string[],
  options: { maxWidth?: number } = {},
): Promise<Recognition[]> {
  if (quads.length === 0) return []
  const batch = buildRecognitionBatch(image, quads, options.maxWidth)
  const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', batch.data, batch.dims) }
  const output = (await session.run(feeds))[session.outputNames[0]!]!
  return ctcGreedyDecode(output.data as Float32Array, output.dims, charset)
}
