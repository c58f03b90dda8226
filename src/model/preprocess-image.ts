import sharp from 'sharp'
import { CarafeError } from '../errors.js'
import { decodeImageInput } from './image.js'
import type { ImagePreprocess, Preprocess } from './preprocess-spec.js'

/**
 * What a field becomes after pre-processing: the tensor a handler feeds its session (add the batch dimension), and how
 * to map a tensor pixel back to the image the client sent: original = (tensor - offset) * scale.
 */
export interface PreparedImage {
  data: Float32Array | Uint8Array
  /** [channels, height, width] for CHW, [height, width, channels] for HWC. */
  dims: number[]
  width: number
  height: number
  originalWidth: number
  originalHeight: number
  scaleX: number
  scaleY: number
  offsetX: number
  offsetY: number
}

/** Decode, resize, reorder and normalize one image value as the spec says. Client errors are CarafeErrors. */
export async function prepareImage(value: unknown, spec: ImagePreprocess): Promise<PreparedImage> {
  // only the limits the spec sets: an undefined one would override the default in decodeImageInput's spread
  const limits = {
    ...(spec.maxBytes ? { maxBytes: spec.maxBytes } : {}),
    ...(spec.maxPixels ? { maxPixels: spec.maxPixels } : {}),
    ...(spec.formats ? { formats: spec.formats } : {}),
  }
  const image = await decodeImageInput(value, limits)
  const plan = resizePlan(image.width, image.height, spec)
  const gray = spec.channels === 'GRAY'
  // Resize from the decoded RGB (not the encoded bytes) so orientation and flattening happen exactly once.
  let pipeline = sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
  if (plan.scaledWidth !== image.width || plan.scaledHeight !== image.height) {
    pipeline = pipeline.resize(plan.scaledWidth, plan.scaledHeight, {
      fit: 'fill',
      kernel: spec.resize?.kernel ?? 'linear',
    })
  }
  if (plan.crop) pipeline = pipeline.extract(plan.crop)
  if (plan.extend)
    pipeline = pipeline.extend({ ...plan.extend, background: { r: spec.pad ?? 0, g: spec.pad ?? 0, b: spec.pad ?? 0 } })
  if (gray) pipeline = pipeline.grayscale()
  const { data: pixels, info } = await pipeline.raw().toBuffer({ resolveWithObject: true })
  const channels = gray ? 1 : 3
  if (info.channels !== channels || info.width !== plan.width || info.height !== plan.height) {
    throw new Error(
      `preprocess: sharp gave ${info.width}x${info.height}x${info.channels}, expected ${plan.width}x${plan.height}x${channels}`,
    )
  }
  return {
    data: toTensor(pixels, plan.width * plan.height, channels, spec),
    dims: spec.layout === 'HWC' ? [plan.height, plan.width, channels] : [channels, plan.height, plan.width],
    width: plan.width,
    height: plan.height,
    originalWidth: image.width,
    originalHeight: image.height,
    scaleX: image.width / plan.scaledWidth,
    scaleY: image.height / plan.scaledHeight,
    offsetX: plan.offsetX,
    offsetY: plan.offsetY,
  }
}

interface ResizePlan {
  scaledWidth: number
  scaledHeight: number
  width: number
  height: number
  offsetX: number
  offsetY: number
  crop?: { left: number; top: number; width: number; height: number }
  extend?: { left: number; top: number; right: number; bottom: number }
}

/** Sizes and offsets are computed here, not left to sharp's fit modes, so the tensor → image mapping is exact. */
export function resizePlan(width: number, height: number, spec: Pick<ImagePreprocess, 'resize'>): ResizePlan {
  const r = spec.resize
  const same = (w: number, h: number): ResizePlan => ({
    scaledWidth: w,
    scaledHeight: h,
    width: w,
    height: h,
    offsetX: 0,
    offsetY: 0,
  })
  if (!r) return same(width, height)
  if ('maxSide' in r) {
    const ratio = Math.max(width, height) > r.maxSide ? r.maxSide / Math.max(width, height) : 1
    const step = r.multipleOf ?? 1
    const snap = (side: number): number => Math.max(roundHalfEven(Math.trunc(side * ratio) / step) * step, step)
    return same(snap(width), snap(height))
  }
  const fit = r.fit ?? 'fill'
  if (fit === 'fill') return same(r.width, r.height)
  const ratio =
    fit === 'cover' ? Math.max(r.width / width, r.height / height) : Math.min(r.width / width, r.height / height)
  const clampSide = (side: number, target: number): number => {
    const s = Math.max(1, Math.round(side * ratio))
    return fit === 'cover' ? Math.max(s, target) : Math.min(s, target)
  }
  const scaledWidth = clampSide(width, r.width)
  const scaledHeight = clampSide(height, r.height)
  const left = Math.floor(Math.abs(scaledWidth - r.width) / 2)
  const top = Math.floor(Math.abs(scaledHeight - r.height) / 2)
  const base = { scaledWidth, scaledHeight, width: r.width, height: r.height }
  if (fit === 'cover')
    return { ...base, offsetX: -left, offsetY: -top, crop: { left, top, width: r.width, height: r.height } }
  return {
    ...base,
    offsetX: left,
    offsetY: top,
    extend: { left, top, right: r.width - scaledWidth - left, bottom: r.height - scaledHeight - top },
  }
}

// Python's round() and NumPy's round half to even; PaddleOCR's DetResizeForTest relies on it.
function roundHalfEven(x: number): number {
  const r = Math.round(x)
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r
}

/** Packed 8-bit RGB or grey → the tensor: channel order, layout, range, mean and std. */
function toTensor(pixels: Buffer, plane: number, channels: number, spec: ImagePreprocess): Float32Array | Uint8Array {
  const bgr = spec.channels === 'BGR'
  const hwc = spec.layout === 'HWC'
  const out = spec.dtype === 'uint8' ? new Uint8Array(plane * channels) : new Float32Array(plane * channels)
  const [low, high] = spec.range ?? [0, 1]
  const span = high - low
  const mean = perChannel(spec.mean, channels, 0)
  const std = perChannel(spec.std, channels, 1)
  // one tight loop per tensor channel (no closure per element: this loop is ~0.5 M values for a 640×256 image)
  for (let c = 0; c < channels; c++) {
    const from = bgr ? 2 - c : c // tensor channel c reads this packed channel
    const step = hwc ? channels : 1
    let at = hwc ? c : c * plane
    if (spec.dtype === 'uint8') {
      for (let i = 0; i < plane; i++, at += step) out[at] = pixels[i * channels + from]!
      continue
    }
    const m = mean[c]!
    const d = std[c]!
    for (let i = 0; i < plane; i++, at += step) out[at] = ((pixels[i * channels + from]! / 255) * span + low - m) / d
  }
  return out
}

function perChannel(values: number[] | undefined, channels: number, fallback: number): number[] {
  if (!values) return new Array<number>(channels).fill(fallback)
  return values.length === 1 ? new Array<number>(channels).fill(values[0]!) : values
}

/**
 * Replace each pre-processed field of each instance by its PreparedImage; an error names the instance and field.
 * One image at a time: a decoded image can be 120 MB of RGB (40 MP) outside the V8 heap, so a batch of them decoded
 * at once could exhaust the process where one cannot.
 */
export async function prepareInstances(instances: unknown[], preprocess: Preprocess): Promise<unknown[]> {
  const fields = Object.entries(preprocess)
  const out: unknown[] = []
  for (const [index, instance] of instances.entries()) {
    const prepared = { ...(instance as Record<string, unknown>) }
    for (const [field, spec] of fields) {
      try {
        prepared[field] = await prepareImage(prepared[field], spec)
      } catch (error) {
        if (error instanceof CarafeError)
          throw new CarafeError(error.code, error.message, [
            { instance: index, path: `/${field}`, message: error.message },
          ])
        throw error
      }
    }
    out.push(prepared)
  }
  return out
}
