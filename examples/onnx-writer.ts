import onnxProto from 'onnx-proto'
import type { onnx as OnnxTypes } from 'onnx-proto'

// onnx-proto is a CommonJS protobufjs bundle whose only export is the `onnx` namespace.
const { onnx } = onnxProto

const OPSET = 13 // from 13 on, Softmax normalises along `axis` alone instead of flattening to 2-D
const IR_VERSION = 8 // ONNX 1.10's IR, valid for opsets up to 15, which every onnxruntime 1.x loads
const BATCH_DIM = 'batch' // dim_param name the server reads as "any batch size"

export interface Node {
  op: string
  inputs: string[]
  outputs: string[]
  /** Integer attributes only (Softmax's axis): all these examples need. */
  attributes?: Record<string, number>
}

export interface Initializer {
  name: string
  dims: number[]
  values: ArrayLike<number>
}

/** A float32 graph input or output, [batch, ...featureDims]. */
export interface Port {
  name: string
  featureDims: number[]
  /** A fixed batch size (many exporters write 1) instead of the dynamic `batch` dimension. */
  fixedBatch?: number
}

export interface GraphSpec {
  name: string
  nodes: Node[]
  initializers: Initializer[]
  inputs: Port[]
  outputs: Port[]
  docString?: string
}

/** Encodes a float32 graph as ONNX ModelProto bytes (opset 13, IR 8, leading dim named `batch`). */
export function writeOnnx(spec: GraphSpec): Uint8Array {
  const model: OnnxTypes.IModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'carafe-examples',
    docString: spec.docString,
    graph: {
      name: spec.name,
      node: spec.nodes.map((n, i) => ({
        name: `${n.op.toLowerCase()}_${i}`,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attributes ?? {}).map(([name, value]) => attribute(name, value)),
      })),
      initializer: spec.initializers.map(tensor),
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
    },
  }
  return onnx.ModelProto.encode(model).finish()
}

function attribute(name: string, value: number): OnnxTypes.IAttributeProto {
  if (!Number.isInteger(value))
    throw new Error(`attribute ${name}: ${value} is not an integer; only INT attributes are supported`)
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value }
}

function tensor(init: Initializer): OnnxTypes.ITensorProto {
  const expected = init.dims.reduce((a, b) => a * b, 1)
  if (init.values.length !== expected) {
    throw new Error(
      `initializer ${init.name}: ${init.values.length} values for dims [${init.dims}] (${expected} expected)`,
    )
  }
  // raw_data, not float_data: protobufjs copies one bytes field instead of writing 1.3 M floats one by one (mlp).
  const raw = new Uint8Array(expected * 4)
  const view = new DataView(raw.buffer)
  for (let i = 0; i < expected; i++) view.setFloat32(i * 4, init.values[i], true) // ONNX raw_data is little-endian
  return { name: init.name, dims: init.dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw }
}

function valueInfo(port: Port): OnnxTypes.IValueInfoProto {
  const dim = [
    port.fixedBatch ? { dimValue: port.fixedBatch } : { dimParam: BATCH_DIM },
    ...port.featureDims.map((d) => ({ dimValue: d })),
  ]
  return { name: port.name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim } } } }
}
