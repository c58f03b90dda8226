import ort from 'onnxruntime-node'
import type { ModelDefinition } from './contract.js'
import { fromHalfBits } from './float16.js'
import type { OnnxSignature, OrtType, TensorInfo } from './onnx-schema.js'
import { TYPED_ARRAYS, takesNumbersAsTheyAre, toElement } from './packed-rows.js'
import { flattenInto, isTensorLike, shapeOf, unflatten } from './tensor.js'

export interface OnnxOptions {
  intraOpNumThreads?: number
}

type Instance = unknown
type TypedArrayConstructor = new (length: number) => { [index: number]: unknown; length: number }

const ARRAYS: Record<OrtType, TypedArrayConstructor> = {
  ...TYPED_ARRAYS,
  string: Array as unknown as TypedArrayConstructor,
}
const fromElement = (x: unknown): unknown => (typeof x === 'bigint' ? Number(x) : x)

/** An ONNX file as a model definition: instances are stacked along the batch dimension into one run. */
export function onnxDefinition(
  path: string,
  signature: OnnxSignature,
  options: OnnxOptions = {},
): Pick<ModelDefinition, 'setup' | 'predict'> {
  let session: ort.InferenceSession
  const { inputs, outputs, batched } = signature
  const single = inputs.length === 1
  const tensorsOf = (instance: Instance): unknown[] =>
    single ? [instance] : inputs.map((i) => (instance as Record<string, unknown>)[i.name])

  async function runGroup(group: Instance[]): Promise<unknown[]> {
    const feeds: Record<string, ort.Tensor> = {}
    inputs.forEach((info, k) => {
      const values = group.map((instance) => tensorsOf(instance)[k])
      feeds[info.name] = stack(info, values, batched)
    })
    const results = await session.run(feeds)
    const perOutput = outputs.map((o) => split(results[o.name], batched ? group.length : 0))
    return group.map((_, row) =>
      perOutput.length === 1
        ? perOutput[0][row]
        : Object.fromEntries(outputs.map((o, k) => [o.name, perOutput[k][row]])),
    )
  }

  return {
    async setup() {
      session = await ort.InferenceSession.create(path, sessionOptions(options))
    },
    async predict(instances: Instance[]) {
      // Only instances of the same shape stack; a batch of mixed dynamic shapes runs as several groups.
      const groups = new Map<string, number[]>()
      instances.forEach((instance, i) => {
        const key = batched
          ? tensorsOf(instance)
              .map((t) => JSON.stringify((shapeOf(t) as { shape: number[] }).shape))
              .join('|')
          : String(i)
        const list = groups.get(key) ?? []
        list.push(i)
        groups.set(key, list)
      })
      const out = new Array<unknown>(instances.length)
      for (const indices of groups.values()) {
        const rows = await runGroup(indices.map((i) => instances[i]))
        for (const [k, i] of indices.entries()) out[i] = rows[k]
      }
      return out
    },
  }
}

// onnxruntime's idle intra-op threads spin-wait for work by default. Between batches that spinning took most of a core
// (2.75 s of CPU in a 5 s mlp load test) away from the HTTP thread on 2 shared cores, for no faster runs (measured).
const NO_SPINNING = { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } }

/** onnxruntime-node rejects keys set to undefined, so only present options are passed. */
export function sessionOptions({ intraOpNumThreads }: OnnxOptions): ort.InferenceSession.SessionOptions {
  return { graphOptimizationLevel: 'all', ...(intraOpNumThreads ? { intraOpNumThreads } : {}), extra: NO_SPINNING }
}

function stack(info: TensorInfo, values: unknown[], batched: boolean): ort.Tensor {
  const inner = (shapeOf(values[0]) as { shape: number[] }).shape
  const shape = batched ? [values.length, ...inner] : inner
  const size = shape.reduce((a, b) => a * b, 1)
  const data = new ARRAYS[info.type](size)
  const convert = toElement(info.type)
  const asTheyAre = takesNumbersAsTheyAre(info.type)
  let offset = 0
  for (const value of values) {
    // rows packed on the main thread (and pre-processed images) arrive as typed arrays of the element type: one memcpy
    // each; typed V2 rows of another number type (JSON values as float64) are converted by the same native copy
    if (
      isTensorLike(value) &&
      info.type !== 'bool' &&
      (value.data instanceof ARRAYS[info.type] || (asTheyAre && ArrayBuffer.isView(value.data)))
    ) {
      ;(data as unknown as Float32Array).set(value.data as Float32Array, offset)
      offset += value.data.length
    } else offset = flattenInto(value, data, offset, convert)
  }
  return new ort.Tensor(info.type, data as never, shape)
}

/** Rows along the batch dimension; rows = 0 means the model is not batched and the whole tensor is one prediction. */
function split(tensor: ort.Tensor, rows: number): unknown[] {
  const dims = tensor.dims as number[]
  const data = tensor.data as ArrayLike<unknown>
  // without Float16Array (Node 20), onnxruntime hands float16 back as bit patterns; bool comes back as bytes
  const convert =
    tensor.type === 'float16' && data instanceof Uint16Array
      ? (x: unknown) => fromHalfBits(x as number)
      : tensor.type === 'bool'
        ? Boolean
        : fromElement
  if (rows === 0) return [unflatten(data, dims, 0, convert)]
  const inner = dims.slice(1)
  const stride = inner.reduce((a, b) => a * b, 1)
  return Array.from({ length: rows }, (_, r) => unflatten(data, inner, r * stride, convert))
}
