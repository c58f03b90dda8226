import { CarafeError } from '../../errors.js'

/** An input tensor as sent: `data` inline, or `parameters.binary_data_size` bytes of the binary part. */
export interface RequestInput {
  name: string
  shape: number[]
  datatype: string
  data?: unknown[]
  binarySize?: number
  /** Where the input sits in the request's `inputs`, for messages. */
  index: number
}

export interface RequestOutput {
  name: string
  binary?: boolean
}

export interface InferRequest {
  id?: string
  inputs: RequestInput[]
  /** Undefined: every output, as JSON unless `binary_data_output`. */
  outputs?: RequestOutput[]
  binaryOutput: boolean
}

const MAX_ID_LENGTH = 256
const MAX_RANK = 32 // ONNX models stay far below; a bound keeps shape checks constant-time

/**
 * The inference request object of the Open Inference Protocol, checked field by field with messages in its own terms.
 * Optional fields may be null (MLServer-style clients serialize unset fields that way).
 */
export function parseInferRequest(body: unknown): InferRequest {
  if (!isObject(body)) throw invalidRequest('', 'the body must be an inference request object {"inputs": [...]}')
  const id = body.id
  if (id != null && (typeof id !== 'string' || id.length > MAX_ID_LENGTH))
    throw invalidRequest('/id', `"id" must be a string of at most ${MAX_ID_LENGTH} characters`)
  const parameters = optionalObject(body.parameters, '/parameters', '"parameters"')
  const binaryOutput = optionalBoolean(parameters?.binary_data_output, '/parameters/binary_data_output')
  if (!Array.isArray(body.inputs) || body.inputs.length === 0)
    throw invalidRequest('/inputs', '"inputs" must be a non-empty array of input tensors')
  const seen = new Set<string>()
  const inputs = body.inputs.map((tensor: unknown, index: number) => {
    const input = parseInput(tensor, index)
    if (seen.has(input.name)) throw invalidRequest(`/inputs/${index}/name`, `input "${input.name}" is sent twice`)
    seen.add(input.name)
    return input
  })
  let outputs: RequestOutput[] | undefined
  if (body.outputs != null) {
    if (!Array.isArray(body.outputs)) throw invalidRequest('/outputs', '"outputs" must be an array of {"name"}')
    outputs = body.outputs.map((output: unknown, i: number) => {
      if (!isObject(output) || typeof output.name !== 'string')
        throw invalidRequest(`/outputs/${i}`, `requested output ${i} must be an object with a string "name"`)
      const params = optionalObject(output.parameters, `/outputs/${i}/parameters`, `output "${output.name}" parameters`)
      return { name: output.name, binary: optionalBoolean(params?.binary_data, `/outputs/${i}/parameters/binary_data`) }
    })
  }
  return { ...(typeof id === 'string' ? { id } : {}), inputs, outputs, binaryOutput: binaryOutput ?? false }
}

function parseInput(tensor: unknown, index: number): RequestInput {
  const at = `/inputs/${index}`
  if (!isObject(tensor) || typeof tensor.name !== 'string')
    throw invalidRequest(at, `input ${index} must be an object {"name", "shape", "datatype", "data"}`)
  const { name } = tensor
  if (typeof tensor.datatype !== 'string')
    throw invalidRequest(`${at}/datatype`, `input "${name}": "datatype" must be a string such as "FP32"`)
  const { shape } = tensor
  if (!Array.isArray(shape) || shape.length > MAX_RANK)
    throw invalidRequest(`${at}/shape`, `input "${name}": "shape" must be an array of at most ${MAX_RANK} dimensions`)
  for (const [d, dim] of shape.entries()) {
    if (!Number.isSafeInteger(dim) || dim < 0)
      throw invalidRequest(`${at}/shape/${d}`, `input "${name}": dimension ${d} of the shape must be an integer ≥ 0`)
  }
  const params = optionalObject(tensor.parameters, `${at}/parameters`, `input "${name}" parameters`)
  const binarySize = params?.binary_data_size
  if (binarySize != null) {
    if (!Number.isSafeInteger(binarySize) || (binarySize as number) < 0)
      throw invalidRequest(
        `${at}/parameters/binary_data_size`,
        `input "${name}": binary_data_size must be an integer ≥ 0`,
      )
    if (tensor.data != null)
      throw invalidRequest(`${at}/data`, `input "${name}" has both "data" and binary_data_size; send one`)
    return { name, shape, datatype: tensor.datatype, binarySize: binarySize as number, index }
  }
  if (!Array.isArray(tensor.data))
    throw invalidRequest(`${at}/data`, `input "${name}": "data" must be an array (or use parameters.binary_data_size)`)
  return { name, shape, datatype: tensor.datatype, data: tensor.data, index }
}

function optionalObject(value: unknown, path: string, what: string): Record<string, unknown> | undefined {
  if (value == null) return undefined
  if (!isObject(value)) throw invalidRequest(path, `${what} must be an object`)
  return value
}

function optionalBoolean(value: unknown, path: string): boolean | undefined {
  if (value == null) return undefined
  if (typeof value !== 'boolean') throw invalidRequest(path, 'must be true or false')
  return value
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** INVALID_INPUT with a V2 message; details name the JSON pointer in the request body. */
export function invalidRequest(path: string, message: string, extra: Record<string, unknown> = {}): CarafeError {
  return new CarafeError('INVALID_INPUT', message, [{ path: `/body${path}`, message, ...extra }])
}
