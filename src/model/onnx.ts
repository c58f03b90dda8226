import { basename, dirname, extname } from 'node:path'
import { type ModelDescriptor, NO_BATCHING, ONNX_DEFAULT_BATCHING } from './descriptor.js'
import { instanceSchema, readOnnxSignature } from './onnx-schema.js'

/** A bare .onnx file: the schema comes from the graph's metadata, the name from the file. */
export async function loadOnnxDescriptor(path: string, name = basename(path, extname(path))): Promise<ModelDescriptor> {
  const signature = await readOnnxSignature(path)
  return {
    name: name.replace(/[^A-Za-z0-9._-]/g, '-'),
    version: '1',
    description: '',
    dir: dirname(path),
    source: { kind: 'onnx', path, signature },
    input: instanceSchema(signature, 'inputs'),
    output: instanceSchema(signature, 'outputs'),
    examples: [],
    batch: signature.batched ? ONNX_DEFAULT_BATCHING : NO_BATCHING,
    settings: {},
  }
}
