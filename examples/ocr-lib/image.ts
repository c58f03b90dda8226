/** Decoding any image sharp reads into packed RGB pixels, once per request. */

import { decodeRgb } from 'carafe'

// The decoded RGB stays in memory for the recognition crops: 40 MP is 120 MB. sharp's own default
// (268 MP, 800 MB decoded) lets a small compressed upload exhaust a worker.
export const MAX_INPUT_PIXELS = 40_000_000

/** Packed 8-bit RGB, row-major, `width * height * 3` bytes. */
export interface RawImage {
  data: Uint8Array
  width: number
  height: number
}

/** Decodes with the server's own image decoder (EXIF orientation applied, as cv2.imread does; transparency on white). */
export async function decodeImage(image: Buffer | Uint8Array): Promise<RawImage> {
  return decodeRgb(image, MAX_INPUT_PIXELS)
}

export function isRawImage(value: unknown): value is RawImage {
  return typeof value === 'object' && value !== null && !Buffer.isBuffer(value) && 'data' in value && 'width' in value
}
