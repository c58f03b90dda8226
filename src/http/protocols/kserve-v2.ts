import { CarafeError } from '../../errors.js'
import type { ModelDescriptor, TensorInfo } from '../../model/index.js'
import { shapeOf, unflatten } from '../../model/tensor.js'

/** KServe V2 / Open Inference Protocol tensors ↔ Carafe instances, as pure functions. */
export interface V2Tensor {
  name: string
  shape: number[]
  datatype: string
  data: unknown[]
}

const DATATYPES: Record<TensorInfo['type'], string> = {
  float32: 'FP32',
  float64: 'FP64',
  int8: 'INT8',
  uint8: 'UINT8',
  int16: 'INT16',
  uint16: 'UINT16',
  int32: 'INT32',
  uint32: 'UINT32',
  int64: 'INT64',
  uint64: 'UINT64',
  bool: 'BOOL',
  string: 'BYTES',
}

export function tensorMetadata(info: TensorInfo) {
  return { name: info.name, datatype: DATATYPES[info.type], shape: info.dims.map((d) => d ?? -1) }
}

function signatureOf(model: ModelDescriptor) {
  if (model.source.kind !== 'onnx') {
    throw new CarafeError(
      'INVALID_INPUT',
      `Model "${model.name}" takes JSON instances, not tensors; use POST /v1/models/${model.name}:predict`,
    )
  }
  return model.source.signature
}

/**
 * The tensors a V2 client sends: the graph's inputs, or for a model with image pre-processing one BYTES tensor per image
 * field, a base64 image per row (as KServe's image examples send them).
 */
export function v2Inputs(model: ModelDescriptor): { inputs: TensorInfo[]; batched: boolean } {
  const signature = signatureOf(model)
  if (!model.preprocess) return signature
  return {
    inputs: Object.keys(model.preprocess).map((name) => ({ name, type: 'string', dims: [null] })),
    batched: true,
  }
}

/** Split each input tensor along its batch dimension into one instance per row. */
export function decodeV2(body: unknown, model: ModelDescriptor, maxInstances: number): unknown[] {
  const { inputs, batched } = v2Inputs(model)
  const sent = (body as { inputs?: unknown }).inputs
  if (!Array.isArray(sent) || sent.length === 0) throw invalid('/inputs', 'must be a non-empty array of tensors')
  const byName = new Map<string, V2Tensor>()
  sent.forEach((tensor: V2Tensor, i) => {
    if (!tensor || typeof tensor.name !== 'string' || !Array.isArray(tensor.shape) || !Array.isArray(tensor.data)) {
      throw invalid(`/inputs/${i}`, 'must be {name, shape, datatype, data}')
    }
    if (!tensor.shape.every((d) => Number.isInteger(d) && d >= 0))
      throw invalid(`/inputs/${i}/shape`, 'must be non-negative integers')
    byName.set(tensor.name, tensor)
  })
  const rows = new Set<number>()
  const perInput = inputs.map((info) => {
    const tensor = byName.get(info.name)
    if (!tensor)
      throw invalid('/inputs', `missing input "${info.name}" (the model takes ${inputs.map((i) => i.name).join(', ')})`)
    if (tensor.datatype !== DATATYPES[info.type])
      throw invalid(`/inputs/${info.name}/datatype`, `must be ${DATATYPES[info.type]}`)
    // Data may come flat (the protocol's row-major form) or nested; either way its size must match the shape.
    const flat = (tensor.data as unknown[]).flat(Infinity)
    const size = tensor.shape.reduce((a, b) => a * b, 1)
    if (flat.length !== size)
      throw invalid(`/inputs/${info.name}/data`, `holds ${flat.length} values for shape [${tensor.shape}] (${size})`)
    const n = batched ? tensor.shape[0] : 1
    rows.add(n)
    const inner = batched ? tensor.shape.slice(1) : tensor.shape
    const stride = inner.reduce((a, b) => a * b, 1)
    return Array.from({ length: n }, (_, r) => unflatten(flat, inner, r * stride))
  })
  if (rows.size !== 1) throw invalid('/inputs', 'every input must have the same batch size')
  const [count] = rows
  // the rows of an image tensor become instances, but a model with a fixed batch dimension answers one at a time
  if (model.preprocess && !signatureOf(model).batched && count > 1)
    throw invalid('/inputs', `send one image per request: model "${model.name}" has a fixed batch dimension`)
  if (count > maxInstances)
    throw new CarafeError('TOO_MANY_INSTANCES', `The request carries ${count} instances; the limit is ${maxInstances}`)
  const byField = model.preprocess !== undefined // image fields are always named, even when there is one
  return Array.from({ length: count }, (_, r) =>
    inputs.length === 1 && !byField
      ? perInput[0][r]
      : Object.fromEntries(inputs.map((info, k) => [info.name, perInput[k][r]])),
  )
}

/** Stack per-instance predictions back into output tensors. */
export function encodeV2(predictions: unknown[], model: ModelDescriptor, id?: string) {
  const { outputs, batched } = signatureOf(model)
  const tensors: V2Tensor[] = []
  if (model.classify && model.labels) {
    const labelled = predictions as { label: string; probabilities: Record<string, number> }[]
    tensors.push({
      name: outputs[0].name,
      datatype: 'FP32',
      shape: [labelled.length, model.labels.length],
      data: labelled.flatMap((p) => model.labels!.map((l) => p.probabilities[l])),
    })
    tensors.push({ name: 'label', datatype: 'BYTES', shape: [labelled.length], data: labelled.map((p) => p.label) })
  } else {
    for (const info of outputs) {
      const rows = predictions.map((p) => (outputs.length === 1 ? p : (p as Record<string, unknown>)[info.name]))
      const value = batched ? rows : rows[0]
      const shape = (shapeOf(value) as { shape: number[] }).shape
      tensors.push({ name: info.name, datatype: DATATYPES[info.type], shape, data: [value].flat(Infinity) })
    }
  }
  return { model_name: model.name, model_version: model.version, ...(id ? { id } : {}), outputs: tensors }
}

function invalid(path: string, message: string): CarafeError {
  return new CarafeError('INVALID_INPUT', `${path}: ${message}`, [{ path: `/body${path}`, message }])
}
