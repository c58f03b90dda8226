import onnxProto from 'onnx-proto'

const { onnx } = onnxProto

/** ONNX element type numbers (TensorProto.DataType) of every V2 datatype. */
export const ONNX_TYPES: Record<string, number> = {
  FP32: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  BYTES: 8,
  BOOL: 9,
  FP16: 10,
  FP64: 11,
  UINT32: 12,
  UINT64: 13,
}

/**
 * A graph of Identity nodes, `x_<name>` → `y_<name>`, one per tensor, each [batch, ...inner] of its element type.
 * A dimension given as a string is dynamic.
 */
export function identityOnnx(tensors: { name: string; datatype: string }[], inner: (number | string)[]): Uint8Array {
  const port = (name: string, datatype: string) => ({
    name,
    type: {
      tensorType: {
        elemType: ONNX_TYPES[datatype],
        shape: {
          dim: [
            { dimParam: 'batch' },
            ...inner.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })),
          ],
        },
      },
    },
  })
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'carafe-tests',
    graph: {
      name: 'identity',
      node: tensors.map((t) => ({ opType: 'Identity', input: [`x_${t.name}`], output: [`y_${t.name}`] })),
      input: tensors.map((t) => port(`x_${t.name}`, t.datatype)),
      output: tensors.map((t) => port(`y_${t.name}`, t.datatype)),
    },
  }).finish()
}
