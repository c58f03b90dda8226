/** PP-OCR detection preprocessing, replicating PaddleOCR's DetResizeForTest + NormalizeImage + ToCHWImage. */

import sharp from 'sharp'
import { decodeImage, isRawImage, type RawImage } from './image.js'

/** PaddleOCR's det_limit_side_len with det_limit_type 'max'. */
export const DEFAULT_LIMIT_SIDE_LEN = 960
// The DB network downsamples by 32, so both sides must be multiples of it.
const STRIDE = 32
// ImageNet statistics in RGB order, yet PaddleOCR applies them to cv2's BGR planes in index order;
// the models were trained that way, so we do the same.
const MEAN = [0.485, 0.456, 0.406] as const
const STD = [0.229, 0.224, 0.225] as const

export interface DetectionInput {
  /** NCHW [1, 3, height, width], planes in B, G, R order. */
  data: Float32Array
  dims: [1, 3, number, number]
  width: number
  height: number
  originalWidth: number
  originalHeight: number
  /** Multiply a map x (or y) by this to get an original-image pixel. */
  scaleX: number
  scaleY: number
}

// Python's round() rounds half to even; DetResizeForTest uses it.
function roundHalfEven(x: number): number {
  const r = Math.round(x)
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r
}

/** Network input size for an image: longer side ≤ limit, aspect kept, each side a multiple of 32 (≥ 32). */
export function detectionSize(
  width: number,
  height: number,
  limitSideLen = DEFAULT_LIMIT_SIDE_LEN,
): { width: number; height: number } {
  const ratio = Math.max(width, height) > limitSideLen ? limitSideLen / Math.max(width, height) : 1
  const snap = (side: number): number => Math.max(roundHalfEven(Math.trunc(side * ratio) / STRIDE) * STRIDE, STRIDE)
  return { width: snap(width), height: snap(height) }
}

/** Resizes and normalizes an encoded image (or already decoded RGB pixels) for the DB detector. */
export async function preprocessDetection(
  image: Buffer | RawImage,
  options: { limitSideLen?: number } = {},
): Promise<DetectionInput> {
  const raw = isRawImage(image) ? image : await decodeImage(image)
  const { width, height } = detectionSize(raw.width, raw.height, options.limitSideLen)
  // cv2.resize's default is bilinear, and the aspect is deliberately not kept exactly (sides snap to 32).
  const resized = await sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer()
  const plane = width * height
  const data = new Float32Array(3 * plane)
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) {
      const bgr = resized[i * 3 + (2 - c)]!
      data[c * plane + i] = (bgr / 255 - MEAN[c]!) / STD[c]!
    }
  }
  return {
    data,
    dims: [1, 3, height, width],
    width,
    height,
    originalWidth: raw.width,
    originalHeight: raw.height,
    scaleX: raw.width / width,
    scaleY: raw.height / height,
  }
}
