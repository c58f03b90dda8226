/** Decoding any image sharp reads into packed RGB pixels, once per request. */

import sharp from 'sharp'

// The decoded RGB stays in memory for the recognition crops: 40 MP is 120 MB. sharp's own default
// (268 MP, 800 MB decoded) lets a small compressed upload exhaust a worker.
export const MAX_INPUT_PIXELS = 40_000_000

/** Packed 8-bit RGB, row-major, `width * height * 3` bytes. */
export interface RawImage {
  data: Uint8Array
  width: number
  height: number
}

/**
 * Decodes, applies the EXIF orientation (cv2.imread does too) and flattens transparency onto white,
 * since text on a transparent background is usually dark ink meant for a light page.
 */
export async function decodeImage(image: Buffer | Uint8Array): Promise<RawImage> {
  const { data, info } = await sharp(image, { limitInputPixels: MAX_INPUT_PIXELS })
    .autoOrient()
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .raw({ depth: 'uchar' }) // 16-bit PNGs would otherwise come out as 2 bytes per sample
    .toBuffer({ resolveWithObject: true })
  if (info.channels !== 3) throw new Error(`decodeImage: expected 3 channels after flatten, got ${info.channels}`)
  return { data, width: info.width, height: info.height }
}

export function isRawImage(value: unknown): value is RawImage {
  return typeof value === 'object' && value !== null && !Buffer.isBuffer(value) && 'data' in value && 'width' in value
}
