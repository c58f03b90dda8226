import { CarafeError } from '../../errors.js'
import type { ModelDescriptor, OrtType, TensorInfo } from '../../model/index.js'
import { flattenInto, shapeOf } from '../../model/tensor.js'
import { BinaryReader, writeBytesElements } from './v2-binary.js'
import { DATATYPES, ELEMENTS } from './v2-datatypes.js'
import { type InferRequest, invalidRequest, type RequestInput } from './v2-request.js'
import { flattenData, readBinary, readBinaryTyped, rowsOf, typedRowsOf, typedView } from './v2-tensor-data.js'

/** The V2 health APIs answer with their status: 200 is true and a 4xx false (the protocol's Health section; Triton answers 400). */
export const V2_NOT_READY = 400

/** KServe V2 / Open Inference Protocol tensors ↔ Carafe instances, as pure functions. */
export interface TensorMetadata {
  name: string
  datatype: string
  shape: number[]
}

export function tensorMetadata(info: TensorInfo): TensorMetadata {
  return { name: info.name, datatype: DATATYPES[info.type], shape: info.dims.map((d) => d ?? -1) }
}

/** Handler models take JSON instances of any schema: they are served over V1 only. */
export function servesV2(model: ModelDescriptor): boolean {
  return model.source.kind === 'onnx'
}

export function v1OnlyMessage(model: ModelDescriptor): string {
  return `Model "${model.name}" is a handler that takes JSON instances, not tensors: it is served over V1 only; use POST /v1/models/${model.name}:predict`
}

function signatureOf(model: ModelDescriptor) {
  if (model.source.kind !== 'onnx') throw new CarafeError('INVALID_INPUT', v1OnlyMessage(model))
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

/** The tensors an answer can carry, as the model metadata declares them: a classifier adds its `label` BYTES output. */
export function v2Outputs(model: ModelDescriptor): TensorMetadata[] {
  const { outputs } = signatureOf(model)
  if (!(model.classify && model.labels)) return outputs.map(tensorMetadata)
  const scores = tensorMetadata(outputs[0])
  return [scores, { name: 'label', datatype: 'BYTES', shape: scores.shape.slice(0, 1) }]
}

/** The requested outputs, each with whether it goes back as binary data; an unknown name is refused before the model runs. */
export function selectOutputs(
  request: InferRequest,
  model: ModelDescriptor,
): { meta: TensorMetadata; binary: boolean }[] {
  const declared = v2Outputs(model)
  if (!request.outputs) return declared.map((meta) => ({ meta, binary: request.binaryOutput }))
  return request.outputs.map(({ name, binary }, i) => {
    const meta = declared.find((d) => d.name === name)
    if (!meta) {
      throw invalidRequest(
        `/outputs/${i}/name`,
        `unknown output "${name}": model "${model.name}" has ${declared.map((d) => `"${d.name}"`).join(', ')}`,
      )
    }
    return { meta, binary: binary ?? request.binaryOutput }
  })
}

/**
 * Split each input tensor along its batch dimension into one instance per row. Shapes and datatypes are checked against
 * the model's signature and the instance limit before anything is allocated; nested `data` is flattened without recursion.
 * `checked`: every element was checked here too, and the rows are TensorLike views on one typed array per tensor (the
 * model's own typed array for binary data, float64 for JSON values, which the runner converts natively), so the serving
 * layer may skip its JSON Schema check; this holds for a model without pre-processing whose inputs all have typed views.
 */
export function decodeV2(
  request: InferRequest,
  model: ModelDescriptor,
  maxInstances: number,
  binary?: Buffer,
): { instances: unknown[]; checked: boolean } {
  const { inputs, batched } = v2Inputs(model)
  const checked = request.inputs.map((input) => {
    const info = inputs.find((i) => i.name === input.name)
    if (!info) {
      throw invalidRequest(
        `/inputs/${input.index}/name`,
        `unknown input "${input.name}": model "${model.name}" takes ${inputs.map((i) => `"${i.name}"`).join(', ')}`,
      )
    }
    const datatype = DATATYPES[info.type]
    if (input.datatype !== datatype)
      throw invalidRequest(
        `/inputs/${input.index}/datatype`,
        `input "${input.name}": datatype ${input.datatype} does not match the model's ${datatype}`,
      )
    return { input, info, ...checkShape(input, info, batched, maxInstances) }
  })
  for (const info of inputs) {
    if (!request.inputs.some((input) => input.name === info.name))
      throw invalidRequest(
        '/inputs',
        `missing input "${info.name}": model "${model.name}" takes ${inputs.map((i) => `"${i.name}"`).join(', ')}`,
      )
  }
  const counts = new Set(checked.map((c) => c.rows))
  if (counts.size !== 1) throw invalidRequest('/inputs', 'every input must have the same batch size (first dimension)')
  const [count] = counts
  // the rows of an image tensor become instances, but a model with a fixed batch dimension answers one at a time
  if (model.preprocess && !signatureOf(model).batched && count > 1)
    throw invalidRequest('/inputs', `send one image per request: model "${model.name}" has a fixed batch dimension`)

  const reader = new BinaryReader(binary ?? Buffer.alloc(0))
  const typed = !model.preprocess && inputs.every((info) => typedView(info.type))
  const rowsByName = new Map<string, unknown[]>()
  for (const { input, info, rows, inner, size } of checked) {
    if (typed) {
      const values =
        input.binarySize !== undefined
          ? readBinaryTyped(input, info, size, reader)
          : new Float64Array(flattenData(input, info.type, size) as number[])
      rowsByName.set(input.name, typedRowsOf(values, inner, rows))
      continue
    }
    const flat =
      input.binarySize !== undefined
        ? readBinary(input, info, size, reader, model.preprocess !== undefined)
        : flattenData(input, info.type, size)
    rowsByName.set(input.name, rowsOf(flat, inner, rows))
  }
  reader.finish()
  const byField = model.preprocess !== undefined // image fields are always named, even when there is one
  const instances = Array.from({ length: count }, (_, r) =>
    inputs.length === 1 && !byField
      ? rowsByName.get(inputs[0].name)![r]
      : Object.fromEntries(inputs.map((info) => [info.name, rowsByName.get(info.name)![r]])),
  )
  return { instances, checked: typed }
}

function checkShape(input: RequestInput, info: TensorInfo, batched: boolean, maxInstances: number) {
  const expected = batched ? [null, ...info.dims.slice(1)] : info.dims
  const wanted = `[${expected.map((d) => d ?? -1).join(', ')}]`
  const at = `/inputs/${input.index}/shape`
  const { shape, name } = input
  if (shape.length !== expected.length)
    throw invalidRequest(
      at,
      `input "${name}": shape [${shape.join(', ')}] has ${shape.length} dimensions; the model takes ${wanted}`,
    )
  shape.forEach((dim, d) => {
    if ((expected[d] !== null && dim !== expected[d]) || dim === 0)
      throw invalidRequest(`${at}/${d}`, `input "${name}": dimension ${d} is ${dim}; the model takes ${wanted}`)
  })
  const rows = batched ? shape[0] : 1
  if (rows > maxInstances)
    throw new CarafeError(
      'TOO_MANY_INSTANCES',
      `Input "${name}" carries ${rows} instances; the limit is ${maxInstances}`,
    )
  const inner = batched ? shape.slice(1) : shape
  return { rows, inner, size: shape.reduce((a, b) => a * b, 1) }
}

const ORT_TYPES = Object.fromEntries(Object.entries(DATATYPES).map(([ort, v2]) => [v2, ort])) as Record<string, OrtType>

/** Stack per-instance predictions into the requested output tensors; binary ones come back as bytes after the JSON. */
export function encodeV2(
  predictions: unknown[],
  model: ModelDescriptor,
  request: InferRequest,
): { header: Record<string, unknown>; parts: Buffer[] } {
  const { outputs, batched } = signatureOf(model)
  const tensors = new Map<string, { shape: number[]; data: unknown[] }>()
  if (model.classify && model.labels) {
    const labels = model.labels
    const labelled = predictions as { label: string; probabilities: Record<string, number> }[]
    tensors.set(outputs[0].name, {
      shape: [labelled.length, labels.length],
      data: labelled.flatMap((p) => labels.map((l) => p.probabilities[l])),
    })
    tensors.set('label', { shape: [labelled.length], data: labelled.map((p) => p.label) })
  } else {
    for (const info of outputs) {
      const rows = predictions.map((p) => (outputs.length === 1 ? p : (p as Record<string, unknown>)[info.name]))
      const value = batched ? rows : rows[0]
      const shape = (shapeOf(value) as { shape: number[] }).shape
      const data: unknown[] = []
      flattenInto(value, data, 0, info.type === 'bool' ? Boolean : (x) => x)
      tensors.set(info.name, { shape, data })
    }
  }
  const parts: Buffer[] = []
  const encoded = selectOutputs(request, model).map(({ meta, binary }) => {
    const { shape, data } = tensors.get(meta.name)!
    if (!binary) return { name: meta.name, datatype: meta.datatype, shape, data }
    const part = toBinary(data, ORT_TYPES[meta.datatype])
    parts.push(part)
    return { name: meta.name, datatype: meta.datatype, shape, parameters: { binary_data_size: part.length } }
  })
  const header = {
    model_name: model.name,
    model_version: model.version,
    ...(request.id !== undefined ? { id: request.id } : {}),
    outputs: encoded,
  }
  return { header, parts }
}

function toBinary(data: unknown[], type: OrtType): Buffer {
  if (type === 'string') return writeBytesElements(data as string[])
  const element = ELEMENTS[type]
  if (element.array) {
    // one native copy into the little-endian typed view instead of a DataView call per element
    const typed = element.array(new ArrayBuffer(data.length * element.bytes)) as Float64Array
    typed.set(data as number[])
    return Buffer.from(typed.buffer)
  }
  const out = Buffer.alloc(data.length * element.bytes)
  const view = new DataView(out.buffer, out.byteOffset, out.length)
  for (let i = 0; i < data.length; i++) element.write(view, i * element.bytes, data[i])
  return out
}
