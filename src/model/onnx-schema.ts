import { readFile } from 'node:fs/promises'
import onnxProto from 'onnx-proto'
import type { JsonSchema } from './contract.js'
import { ModelLoadError } from './load-error.js'

const { onnx } = onnxProto

/** A tensor's element type as onnxruntime-node names it, and how JSON carries it. */
const ELEMENT_TYPES: Record<number, { ort: OrtType; json: 'number' | 'integer' | 'boolean' | 'string' }> = {
  1: { ort: 'float32', json: 'number' },
  2: { ort: 'uint8', json: 'integer' },
  3: { ort: 'int8', json: 'integer' },
  4: { ort: 'uint16', json: 'integer' },
  5: { ort: 'int16', json: 'integer' },
  6: { ort: 'int32', json: 'integer' },
  7: { ort: 'int64', json: 'integer' },
  8: { ort: 'string', json: 'string' },
  9: { ort: 'bool', json: 'boolean' },
  10: { ort: 'float16', json: 'number' },
  11: { ort: 'float64', json: 'number' },
  12: { ort: 'uint32', json: 'integer' },
  13: { ort: 'uint64', json: 'integer' },
}

export type OrtType =
  | 'float32'
  | 'float16'
  | 'float64'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool'
  | 'string'

export interface TensorInfo {
  name: string
  type: OrtType
  /** A number for a fixed dimension, null for a dynamic one. */
  dims: (number | null)[]
}

export interface OnnxSignature {
  inputs: TensorInfo[]
  outputs: TensorInfo[]
  /** True when every input's first dimension is dynamic, so instances can be stacked into one run. */
  batched: boolean
}

/** Read input and output names, types and shapes from the ONNX protobuf, without creating a session. */
export async function readOnnxSignature(path: string): Promise<OnnxSignature> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (error) {
    throw new ModelLoadError(
      path,
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'file not found'
        : `cannot read (${(error as Error).message})`,
    )
  }
  let model: InstanceType<typeof onnx.ModelProto>
  try {
    model = onnx.ModelProto.decode(bytes)
  } catch (error) {
    throw new ModelLoadError(path, `not a valid ONNX file (${(error as Error).message})`)
  }
  const graph = model.graph
  if (!graph?.node?.length || !graph.output?.length)
    throw new ModelLoadError(path, 'not a valid ONNX file (no graph, nodes or outputs)')
  // Older exporters list initializers among the inputs; those are weights, not inputs.
  const weights = new Set((graph.initializer ?? []).map((t) => t.name))
  const toInfo = (value: onnxProto.onnx.IValueInfoProto): TensorInfo => {
    const tensor = value.type?.tensorType
    const element = tensor ? ELEMENT_TYPES[tensor.elemType ?? 0] : undefined
    if (!tensor || !element)
      throw new ModelLoadError(
        path,
        `${value.name}: unsupported type (only tensors of numbers, booleans and strings are served)`,
      )
    const dims = (tensor.shape?.dim ?? []).map((d) =>
      d.dimValue != null && Number(d.dimValue) > 0 ? Number(d.dimValue) : null,
    )
    return { name: value.name ?? '', type: element.ort, dims }
  }
  const inputs = (graph.input ?? []).filter((v) => !weights.has(v.name ?? '')).map(toInfo)
  if (inputs.length === 0) throw new ModelLoadError(path, 'the graph has no inputs')
  const outputs = graph.output.map(toInfo)
  const batched = inputs.every((i) => i.dims.length > 0 && i.dims[0] === null)
  return { inputs, outputs, batched }
}

/** The dimensions of one instance: everything after the batch dimension when the model is batched. */
export function instanceDims(info: TensorInfo, batched: boolean): (number | null)[] {
  return batched ? info.dims.slice(1) : info.dims
}

/** JSON Schema for one instance: a nested array per input; an object by input name when there are several. */
export function instanceSchema(signature: OnnxSignature, which: 'inputs' | 'outputs' = 'inputs'): JsonSchema {
  const tensors = signature[which]
  const one = (t: TensorInfo) => nestedArraySchema(instanceDims(t, signature.batched), leafSchema(t.type))
  if (tensors.length === 1) return one(tensors[0])
  return {
    type: 'object',
    properties: Object.fromEntries(tensors.map((t) => [t.name, one(t)])),
    required: tensors.map((t) => t.name),
    additionalProperties: false,
  }
}

// the largest finite float32; a bigger JSON number would become Infinity in the tensor, which the model cannot run on
const FLOAT32_MAX = 3.4028234663852886e38

// what each integer type holds; a JSON number is exact only up to 2^53, so 64-bit inputs stop there
const INTEGER_RANGES: Partial<Record<OrtType, readonly [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32_768, 32_767],
  uint16: [0, 65_535],
  int32: [-2_147_483_648, 2_147_483_647],
  uint32: [0, 4_294_967_295],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
}

/** The values an integer element type takes from JSON, [min, max]; undefined for the other types. */
export function integerRange(type: OrtType): readonly [number, number] | undefined {
  return INTEGER_RANGES[type]
}

function leafSchema(type: OrtType): JsonSchema {
  const json = Object.values(ELEMENT_TYPES).find((e) => e.ort === type)!.json
  if (type === 'float32') return { type: json, minimum: -FLOAT32_MAX, maximum: FLOAT32_MAX }
  // a value out of range would wrap around silently in the typed array the model reads
  const range = INTEGER_RANGES[type]
  return range ? { type: json, minimum: range[0], maximum: range[1] } : { type: json }
}

function nestedArraySchema(dims: (number | null)[], leaf: JsonSchema): JsonSchema {
  if (dims.length === 0) return leaf
  const [first, ...rest] = dims
  const items = nestedArraySchema(rest, leaf)
  const schema: JsonSchema = {
    type: 'array',
    items,
    ...(first === null ? { minItems: 1 } : { minItems: first, maxItems: first }),
  }
  // Dynamic inner dimensions must still form a rectangle, which plain JSON Schema cannot say.
  if (rest.length > 0) schema['x-rectangular'] = true
  return schema
}
