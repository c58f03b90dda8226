import type { JsonSchema } from './contract.js'
import { imageSchema } from './image.js'
import { ModelLoadError } from './load-error.js'
import type { OnnxSignature, TensorInfo } from './onnx-schema.js'
import type { PreparedImage } from './preprocess-image.js'
import type { ImagePreprocess, Preprocess } from './preprocess-spec.js'

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
