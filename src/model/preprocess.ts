import sharp from 'sharp'
import { Type, type Static } from 'typebox'
import { CarafeError } from '../errors.js'
import type { JsonSchema } from './contract.js'
import { ModelLoadError } from './descriptor.js'
import { decodeImageInput, IMAGE_LIMITS, imageSchema } from './image.js'
import type { OnnxSignature, TensorInfo } from './onnx-schema.js'

const Kernel = Type.Union(
  [Type.Literal('nearest'), Type.Literal('linear'), Type.Literal('cubic'), Type.Literal('lanczos3')],
  {
    description: 'resampling kernel (default linear, as cv2.resize and PIL bilinear)',
  },
)

/** Declarative image pre-processing for one instance field, from carafe.yaml `preprocess.<field>`. */
export const ImagePreprocess = Type.Object(
  {
    input: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'ONNX models: the graph input this field feeds (default: the input of the same name, or the only input)',
      }),
    ),
    resize: Type.Optional(
      Type.Union([
        Type.Object(
          {
            width: Type.Integer({ minimum: 1, maximum: 8192 }),
            height: Type.Integer({ minimum: 1, maximum: 8192 }),
            fit: Type.Optional(
              Type.Union([Type.Literal('fill'), Type.Literal('cover'), Type.Literal('contain')], {
                description:
                  'fill stretches; cover scales to cover and crops the centre; contain scales to fit and pads (letterbox). Default fill',
              }),
            ),
            kernel: Type.Optional(Kernel),
          },
          { additionalProperties: false },
        ),
        Type.Object(
          {
            maxSide: Type.Integer({
              minimum: 1,
              maximum: 8192,
              description: 'scale down (never up) so the longer side is at most this',
            }),
            multipleOf: Type.Optional(
              Type.Integer({
                minimum: 1,
                maximum: 1024,
                description: 'then round each side to a multiple of this (round half to even, as NumPy and PaddleOCR)',
              }),
            ),
            kernel: Type.Optional(Kernel),
          },
          { additionalProperties: false },
        ),
      ]),
    ),
    channels: Type.Optional(
      Type.Union([Type.Literal('RGB'), Type.Literal('BGR'), Type.Literal('GRAY')], {
        description: 'channel order of the tensor (default RGB)',
      }),
    ),
    layout: Type.Optional(
      Type.Union([Type.Literal('CHW'), Type.Literal('HWC')], {
        description: 'default CHW (PyTorch); HWC for TensorFlow',
      }),
    ),
    dtype: Type.Optional(
      Type.Union([Type.Literal('float32'), Type.Literal('uint8')], {
        description: 'default float32; uint8 passes raw 0-255 pixels',
      }),
    ),
    range: Type.Optional(
      Type.Tuple([Type.Number(), Type.Number()], {
        description: 'pixels 0-255 map linearly onto [low, high] before mean/std (default [0, 1])',
      }),
    ),
    mean: Type.Optional(
      Type.Array(Type.Number(), {
        minItems: 1,
        maxItems: 3,
        description: 'subtracted per tensor channel, in tensor channel order',
      }),
    ),
    std: Type.Optional(
      Type.Array(Type.Number({ exclusiveMinimum: 0 }), {
        minItems: 1,
        maxItems: 3,
        description: 'divided per tensor channel, in tensor channel order',
      }),
    ),
    pad: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 255,
        description: 'grey level of the letterbox padding (fit: contain), default 0',
      }),
    ),
    maxPixels: Type.Optional(
      Type.Integer({ minimum: 1, description: `decoded pixel limit (default ${IMAGE_LIMITS.maxPixels})` }),
    ),
    maxBytes: Type.Optional(
      Type.Integer({ minimum: 1, description: `encoded byte limit (default ${IMAGE_LIMITS.maxBytes})` }),
    ),
  },
  { additionalProperties: false },
)
export type ImagePreprocess = Static<typeof ImagePreprocess>

export const Preprocess = Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.-]*$' }), ImagePreprocess, {
  description: 'instance fields that carry an image, and how to turn each into a tensor before the model sees it',
})
export type Preprocess = Static<typeof Preprocess>

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

/**
 * Check a preprocess block against the model at load time (exit 2 naming the field), and give the public input schema:
 * each pre-processed field becomes an image field.
 */
export function preprocessedInputSchema(
  preprocess: Preprocess,
  input: JsonSchema,
  onnx: OnnxSignature | undefined,
  file: string,
): JsonSchema {
  for (const [field, spec] of Object.entries(preprocess)) {
    if (spec.dtype === 'uint8' && (spec.mean || spec.std || spec.range)) {
      throw new ModelLoadError(file, `preprocess.${field}: dtype uint8 passes raw pixels; remove range, mean and std`)
    }
    const channels = spec.channels === 'GRAY' ? 1 : 3
    for (const key of ['mean', 'std'] as const) {
      const n = spec[key]?.length
      if (n !== undefined && n !== 1 && n !== channels)
        throw new ModelLoadError(
          file,
          `preprocess.${field}.${key}: ${n} values for ${channels} channel(s); give 1 or ${channels}`,
        )
    }
  }
  if (onnx) return onnxImageSchema(preprocess, onnx, file)
  const properties = (input.properties ?? {}) as Record<string, JsonSchema>
  for (const field of Object.keys(preprocess)) {
    if (input.type !== 'object' || !(field in properties))
      throw new ModelLoadError(file, `preprocess.${field}: the handler's input schema has no field "${field}"`)
  }
  return {
    ...input,
    properties: { ...properties, ...Object.fromEntries(Object.keys(preprocess).map((f) => [f, imageSchema()])) },
  }
}

/** The ONNX input each pre-processed field feeds. */
export function fedInputs(preprocess: Preprocess, onnx: OnnxSignature): Map<string, string> {
  const fed = new Map<string, string>()
  for (const [field, spec] of Object.entries(preprocess)) {
    const name =
      spec.input ?? (onnx.inputs.some((i) => i.name === field) || onnx.inputs.length > 1 ? field : onnx.inputs[0]!.name)
    fed.set(field, name)
  }
  return fed
}

/** For an ONNX model: a prepared instance → what the predictor stacks (the tensor itself, or tensors by input name). */
export function onnxFeeds(preprocess: Preprocess, onnx: OnnxSignature): (instance: unknown) => unknown {
  const fed = [...fedInputs(preprocess, onnx)]
  const withBatchOfOne = new Set(onnx.inputs.filter((i) => fixedBatchOfOne(i, onnx.batched)).map((i) => i.name))
  const tensor = (image: PreparedImage, input: string) =>
    withBatchOfOne.has(input) ? { data: image.data, dims: [1, ...image.dims] } : { data: image.data, dims: image.dims }
  return (instance) => {
    const fields = instance as Record<string, PreparedImage>
    if (onnx.inputs.length === 1) return tensor(fields[fed[0]![0]]!, fed[0]![1])
    return Object.fromEntries(fed.map(([field, input]) => [input, tensor(fields[field]!, input)]))
  }
}

function onnxImageSchema(preprocess: Preprocess, onnx: OnnxSignature, file: string): JsonSchema {
  const fed = fedInputs(preprocess, onnx)
  const byInput = new Map([...fed].map(([field, input]) => [input, field]))
  for (const [field, inputName] of fed) {
    const info = onnx.inputs.find((i) => i.name === inputName)
    if (!info)
      throw new ModelLoadError(
        file,
        `preprocess.${field}: the model has no input "${inputName}" (inputs: ${onnx.inputs.map((i) => i.name).join(', ')})`,
      )
    checkTensorFits(field, preprocess[field]!, info, onnx.batched, file)
  }
  const unfed = onnx.inputs.filter((i) => !byInput.has(i.name))
  if (unfed.length > 0) {
    throw new ModelLoadError(
      file,
      `preprocess: every model input must come from an image field; ${unfed.map((i) => i.name).join(', ')} would have none`,
    )
  }
  const fields = [...fed.keys()]
  return {
    type: 'object',
    properties: Object.fromEntries(fields.map((f) => [f, imageSchema()])),
    required: fields,
    additionalProperties: false,
  }
}

function checkTensorFits(field: string, spec: ImagePreprocess, info: TensorInfo, batched: boolean, file: string): void {
  const type = spec.dtype ?? 'float32'
  if (info.type !== type)
    throw new ModelLoadError(
      file,
      `preprocess.${field}: input "${info.name}" is ${info.type}, the pre-processing makes ${type} (set dtype)`,
    )
  const dims = batched || fixedBatchOfOne(info, batched) ? info.dims.slice(1) : info.dims
  const channels = spec.channels === 'GRAY' ? 1 : 3
  const fixed = spec.resize && 'width' in spec.resize ? spec.resize : undefined
  const made =
    spec.layout === 'HWC'
      ? [fixed?.height ?? null, fixed?.width ?? null, channels]
      : [channels, fixed?.height ?? null, fixed?.width ?? null]
  const clash =
    dims.length !== 3 ||
    dims.some((d, k) => d !== null && made[k] !== null && d !== made[k]) ||
    dims.some((d, k) => d !== null && made[k] === null)
  if (clash) {
    const show = (d: (number | null)[]) => `[${d.map((x) => x ?? '?').join(', ')}]`
    throw new ModelLoadError(
      file,
      `preprocess.${field}: input "${info.name}" takes ${show(dims)} per image, the pre-processing makes ${show(made)} (check resize, layout and channels)`,
    )
  }
}

/** An unbatched image input exported as [1, C, H, W] (or [1, H, W, C]): the image gets that leading 1. */
function fixedBatchOfOne(info: TensorInfo, batched: boolean): boolean {
  return !batched && info.dims.length === 4 && info.dims[0] === 1
}
