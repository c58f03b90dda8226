import sharp from 'sharp'
import { CarafeError } from '../errors.js'
import type { JsonSchema } from './contract.js'

/** The image formats a model may accept (sharp's names; AVIF is sharp's "heif" with AV1). */
export const IMAGE_FORMATS = ['png', 'jpeg', 'webp', 'gif', 'tiff', 'avif', 'svg'] as const
export type ImageFormat = (typeof IMAGE_FORMATS)[number]

// SVG is rendered by librsvg in native code: a few hundred bytes of filters can keep a core busy for hours, and neither
// a deadline nor worker.terminate() interrupts it. So it is refused unless a model opts in (see README).
export const DEFAULT_IMAGE_FORMATS: readonly ImageFormat[] = Object.freeze([
  'png',
  'jpeg',
  'webp',
  'gif',
  'tiff',
  'avif',
])

/** How big an image a handler accepts (encoded bytes and decoded pixels), and in which formats. */
export interface ImageLimits {
  maxBytes: number
  maxPixels: number
  formats: readonly ImageFormat[]
}

// 40 MP decodes to 120 MB of RGB; sharp's own default (268 MP) lets a small upload exhaust a worker.
// 6 MiB is 8.4 MB of base64, so it is reached before the default 10 MB body limit.
export const IMAGE_LIMITS: Readonly<ImageLimits> = Object.freeze({
  maxBytes: 6 * 1024 * 1024,
  maxPixels: 40_000_000,
  formats: DEFAULT_IMAGE_FORMATS,
})

/** Packed 8-bit RGB, row-major, `width * height * 3` bytes (the shape examples/ocr-lib reads). */
export interface DecodedImage {
  data: Uint8Array
  width: number
  height: number
}

const DATA_URL = /^data:([\w.+-]+\/[\w.+-]+)?((?:;[\w.+-]+=[\w.+-]+)*);base64,/i
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/

/** JSON Schema of an image field: a base64 string, a data URL, or TF Serving's {"b64": "..."}. */
export function imageSchema(
  description = 'an image (PNG, JPEG, WebP, GIF, TIFF…) as base64, a data URL, or {"b64": "..."}',
): JsonSchema {
  return {
    description,
    'x-carafe-image': true,
    oneOf: [
      { type: 'string', contentEncoding: 'base64', minLength: 1 },
      {
        type: 'object',
        properties: { b64: { type: 'string', contentEncoding: 'base64', minLength: 1 } },
        required: ['b64'],
        additionalProperties: false,
      },
    ],
  }
}

/** The encoded bytes of an image value, checked against the byte limit before base64 is decoded. */
export function imageBytes(value: unknown, limits: Partial<ImageLimits> = {}): Buffer {
  const { maxBytes } = { ...IMAGE_LIMITS, ...limits }
  if (value instanceof Uint8Array)
    return checkBytes(Buffer.from(value.buffer, value.byteOffset, value.byteLength), maxBytes)
  const raw = typeof value === 'string' ? value : (value as { b64?: unknown } | null)?.b64
  if (typeof raw !== 'string')
    throw new CarafeError('INVALID_IMAGE', 'An image must be a base64 string, a data URL or {"b64": "..."}')
  let text = raw
  const dataUrl = DATA_URL.exec(text)
  if (dataUrl) text = text.slice(dataUrl[0].length)
  else if (text.startsWith('data:'))
    throw new CarafeError('INVALID_IMAGE', 'A data URL image must be base64: data:image/png;base64,...')
  // 4 base64 characters carry 3 bytes: refuse an oversized image before allocating it.
  if (Math.floor((text.length * 3) / 4) > maxBytes + 3)
    throw tooLarge(`${Math.floor((text.length * 3) / 4)} bytes`, `${maxBytes} bytes`)
  const compact = text.replace(/\s+/g, '')
  if (compact.length === 0 || !BASE64.test(compact))
    throw new CarafeError('INVALID_IMAGE', 'The image is not valid base64')
  return checkBytes(
    Buffer.from(compact, compact.includes('-') || compact.includes('_') ? 'base64url' : 'base64'),
    maxBytes,
  )
}

/** Decode an image value into RGB pixels (EXIF orientation applied, transparency flattened onto white). */
export async function decodeImageInput(value: unknown, limits: Partial<ImageLimits> = {}): Promise<DecodedImage> {
  const { maxPixels, formats } = { ...IMAGE_LIMITS, ...limits }
  const bytes = imageBytes(value, limits)
  // refused before librsvg ever parses it
  if (!formats.includes('svg') && looksLikeSvg(bytes)) throw formatRefused('svg', formats)
  let width: number | undefined
  let height: number | undefined
  let format: string | undefined
  try {
    // the header's size only (no decode): sharp's own pixel limit would call a huge image undecodable instead
    const metadata = await sharp(bytes, { limitInputPixels: false }).metadata()
    ;({ width, height } = metadata)
    format = metadata.format === 'heif' && metadata.compression === 'av1' ? 'avif' : metadata.format
  } catch {
    throw new CarafeError(
      'INVALID_IMAGE',
      `The data is not an image sharp can decode (${formats.map((f) => f.toUpperCase()).join(', ')})`,
    )
  }
  if (!formats.includes(format as ImageFormat)) throw formatRefused(format ?? 'unknown', formats)
  if (!width || !height) throw new CarafeError('INVALID_IMAGE', 'The image has no size')
  if (width * height > maxPixels) throw tooLarge(`${width}x${height} pixels`, `${maxPixels} pixels`)
  try {
    return await decodeRgb(bytes, maxPixels)
  } catch {
    throw new CarafeError('INVALID_IMAGE', 'The image is truncated or corrupt and could not be decoded')
  }
}

/**
 * Any image sharp reads → packed 8-bit RGB, EXIF orientation applied and transparency flattened onto white
 * (text on a transparent background is usually dark ink meant for a light page). Throws a plain Error.
 */
export async function decodeRgb(
  bytes: Buffer | Uint8Array,
  maxPixels: number = IMAGE_LIMITS.maxPixels,
): Promise<DecodedImage> {
  // sequentialRead: decode top to bottom without holding the whole input image for random access
  const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, sequentialRead: true })
    .autoOrient()
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .raw({ depth: 'uchar' }) // 16-bit PNGs would otherwise come out as 2 bytes per sample
    .toBuffer({ resolveWithObject: true })
  if (info.channels !== 3) throw new Error(`decodeRgb: expected 3 channels after flatten, got ${info.channels}`)
  return { data, width: info.width, height: info.height }
}

/** XML text (SVG), or gzip (SVGZ: sharp inflates it for librsvg). No raster format starts with either. */
function looksLikeSvg(bytes: Buffer): boolean {
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return true
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0 // UTF-8 byte order mark
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++
  return bytes[i] === 0x3c // '<'
}

function formatRefused(format: string, formats: readonly ImageFormat[]): CarafeError {
  return new CarafeError(
    'UNSUPPORTED_IMAGE_FORMAT',
    `The image is ${format}; this model accepts ${formats.join(', ')}`,
    [{ format, accepted: [...formats] }],
  )
}

function checkBytes(bytes: Buffer, maxBytes: number): Buffer {
  if (bytes.length === 0) throw new CarafeError('INVALID_IMAGE', 'The image is empty')
  if (bytes.length > maxBytes) throw tooLarge(`${bytes.length} bytes`, `${maxBytes} bytes`)
  return bytes
}

function tooLarge(size: string, limit: string): CarafeError {
  return new CarafeError('IMAGE_TOO_LARGE', `The image is ${size}; the limit is ${limit}`, [{ size, limit }])
}
