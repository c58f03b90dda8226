import type { ModelSettings } from '../config/index.js'
import type { BatchPolicy, JsonSchema } from './contract.js'
import type { OnnxSignature } from './onnx-schema.js'
import type { Preprocess } from './preprocess-spec.js'

/** Where the runner loads the model from. Only the loaders and the worker-side instantiate look at `kind`. */
export type ModelSource = { kind: 'onnx'; path: string; signature: OnnxSignature } | { kind: 'handler'; path: string }

/** Everything the server knows about a model without running it; plain data, so it crosses to worker threads. */
export interface ModelDescriptor {
  name: string
  version: string
  description: string
  dir: string
  source: ModelSource
  input: JsonSchema
  output?: JsonSchema
  /** Class names, in the order of the model's scores. */
  labels?: string[]
  /** Turn each prediction (a row of scores) into {label, probabilities}; set for ONNX classifiers with labels. */
  classify?: boolean
  examples: unknown[]
  batch: BatchPolicy
  settings: ModelSettings
  /** Image fields decoded and turned into tensors in the runner before predict (carafe.yaml `preprocess`). */
  preprocess?: Preprocess
  /** Absolute paths of models served alongside this one (carafe.yaml `requires`). */
  requires?: string[]
}

export const NO_BATCHING: BatchPolicy = { maxSize: 1, maxDelayMs: 0 }

/**
 * What an ONNX model whose inputs all have a dynamic first dimension gets without asking. The batcher's window is
 * adaptive (it waits only while requests overlap), so a lone request pays nothing for it.
 */
export const ONNX_DEFAULT_BATCHING: BatchPolicy = { maxSize: 64, maxDelayMs: 1 }
