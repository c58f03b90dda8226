import ort from 'onnxruntime-node'
import { join, isAbsolute } from 'node:path'
import type { Logger, ModelDefinition, PredictContext, SetupContext } from './contract.js'
import type { ModelDescriptor } from './descriptor.js'
import { importDefinition } from './handler.js'
import { applyLabels } from './labels.js'
import { onnxDefinition, sessionOptions, type OnnxOptions } from './onnx-predictor.js'
import { onnxFeeds } from './preprocess-check.js'
import { prepareInstances } from './preprocess-image.js'
import { compileInstanceValidator } from './validate.js'

/** A model ready to run inside a runner: the only place, with the loaders, that knows the kinds of model. */
export interface LoadedModel {
  setup(): Promise<void>
  predict(inputs: unknown[], ctx: PredictContext): Promise<unknown[]>
}

export async function instantiate(
  descriptor: ModelDescriptor,
  log: Logger,
  options: OnnxOptions = {},
): Promise<LoadedModel> {
  const { source } = descriptor
  const definition: Pick<ModelDefinition, 'setup' | 'predict'> =
    source.kind === 'onnx'
      ? onnxDefinition(source.path, source.signature, options)
      : await importDefinition(source.path)
  const { preprocess } = descriptor
  const toFeeds = preprocess && source.kind === 'onnx' ? onnxFeeds(preprocess, source.signature) : (x: unknown) => x
  const labels = descriptor.classify ? descriptor.labels : undefined
  const checkOutputs = descriptor.output ? compileInstanceValidator(descriptor.output, 'output') : undefined
  const setupContext: SetupContext = {
    dir: descriptor.dir,
    log,
    onnx: (path) =>
      ort.InferenceSession.create(isAbsolute(path) ? path : join(descriptor.dir, path), sessionOptions(options)),
  }
  return {
    setup: async () => definition.setup?.(setupContext),
    async predict(inputs, ctx) {
      const prepared = preprocess ? (await prepareInstances(inputs, preprocess)).map(toFeeds) : inputs
      let outputs = await definition.predict(prepared, ctx)
      if (!Array.isArray(outputs) || outputs.length !== inputs.length) {
        // LitServe's "batch size mismatch": the whole batch fails, since rows cannot be matched to requests
        throw new Error(
          `predict returned ${Array.isArray(outputs) ? outputs.length : typeof outputs} outputs for ${inputs.length} inputs; it must return one output per input, in order`,
        )
      }
      if (labels) outputs = outputs.map((row) => applyLabels(row, labels))
      if (checkOutputs) {
        try {
          checkOutputs(outputs)
        } catch (error) {
          throw new Error(
            `predict returned an output that does not match the output schema: ${(error as Error).message}`,
          )
        }
      }
      return outputs
    },
  }
}
