import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { VERSION } from '../../config/index.js'
import { CarafeError } from '../../errors.js'
import type { ServedModel } from '../../serving/index.js'
import type { AppDeps } from '../deps.js'
import { predictOptionsFor } from '../predict-options.js'
import {
  decodeV2,
  encodeV2,
  selectOutputs,
  servesV2,
  tensorMetadata,
  V2_NOT_READY,
  v1OnlyMessage,
  v2Inputs,
  v2Outputs,
} from '../protocols/kserve-v2.js'
import { binaryResponse, HEADER_LENGTH } from '../protocols/v2-binary.js'
import { parseInferRequest } from '../protocols/v2-request.js'
import { inferBodyParsers, binaryPartOf } from './v2-body.js'
import { MODEL_NAME } from './v1.js'

const VERSION_PARAM = ':version(^[^/]+)'
type Params = { name: string; version?: string }

/** KServe V2 Open Inference Protocol: server and model metadata, readiness per version, and tensor inference. */
export async function v2Routes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const serverMetadata = async () => ({ name: 'carafe', version: VERSION, extensions: ['binary_tensor_data'] })
  app.get('/v2', serverMetadata)
  app.get('/v2/', serverMetadata)

  const metadata = async (request: FastifyRequest<{ Params: Params }>) => {
    const { descriptor } = modelAt(deps, request.params)
    if (!servesV2(descriptor)) {
      // a handler's JSON schema has no tensor form: said here and in the docs, and infer refuses it
      return {
        name: descriptor.name,
        versions: versionsOf(deps, descriptor.name),
        platform: 'carafe_handler',
        inputs: [],
        outputs: [],
        parameters: { v2_infer: false, message: v1OnlyMessage(descriptor) },
      }
    }
    return {
      name: descriptor.name,
      versions: versionsOf(deps, descriptor.name),
      platform: 'onnxruntime_onnx',
      inputs: withNames(v2Inputs(descriptor).inputs.map(tensorMetadata), descriptor.input),
      outputs: v2Outputs(descriptor),
    }
  }
  app.get(`/v2/models/${MODEL_NAME}`, metadata)
  app.get(`/v2/models/${MODEL_NAME}/versions/${VERSION_PARAM}`, metadata)

  const ready = async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
    const model = modelAt(deps, request.params)
    return reply.code(model.ready ? 200 : V2_NOT_READY).send({ name: model.name, ready: model.ready })
  }
  app.get(`/v2/models/${MODEL_NAME}/ready`, ready)
  app.get(`/v2/models/${MODEL_NAME}/versions/${VERSION_PARAM}/ready`, ready)

  await app.register(async (infer) => {
    inferBodyParsers(infer)
    const handler = async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
      const model = modelAt(deps, request.params)
      if (!servesV2(model.descriptor)) throw new CarafeError('INVALID_INPUT', v1OnlyMessage(model.descriptor))
      const inferRequest = parseInferRequest(request.body)
      selectOutputs(inferRequest, model.descriptor) // an unknown output name is refused before the model runs
      const { instances, checked } = decodeV2(
        inferRequest,
        model.descriptor,
        deps.config.maxInstances,
        binaryPartOf(request),
      )
      const predictions = await model
        .predict(instances, { ...predictOptionsFor(request, reply), checked })
        .catch(inV2Terms)
      const { header, parts } = encodeV2(predictions, model.descriptor, inferRequest)
      if (parts.length === 0) return header
      const { body, headerLength } = binaryResponse(header, parts)
      return reply.header(HEADER_LENGTH, headerLength).type('application/octet-stream').send(body)
    }
    infer.post(`/v2/models/${MODEL_NAME}/infer`, handler)
    infer.post(`/v2/models/${MODEL_NAME}/versions/${VERSION_PARAM}/infer`, handler)
  })
}

/** The URL's version of the model (VERSION_NOT_FOUND when it is not served), else its default version. */
function modelAt({ registry }: AppDeps, { name, version }: Params): ServedModel {
  return registry.get(name, version)
}

/** The versions taking traffic, highest first. */
function versionsOf({ registry }: AppDeps, name: string): string[] {
  return registry
    .versionsOf(name)
    .filter((v) => v.state !== 'loading')
    .map((v) => v.version)
}

/** The schema check names an instance and a JSON pointer; over V2 that instance is a row of the input tensors. */
function inV2Terms(error: unknown): never {
  if (error instanceof CarafeError && error.code === 'INVALID_INPUT' && /^instance \d+ at /.test(error.message)) {
    const problem = error.details?.[0] as { instance: number; path: string; message: string }
    throw new CarafeError(
      'INVALID_INPUT',
      `row ${problem.instance} of the input tensors${problem.path === '/' ? '' : ` at ${problem.path}`}: ${problem.message}`,
      error.details,
    )
  }
  throw error
}

/** carafe.yaml `inputNames` on the one input tensor they name, as MLServer puts extra tensor metadata in `parameters`. */
function withNames<T extends object>(tensors: T[], input: unknown): (T & { parameters?: { names: string[] } })[] {
  const names = (input as { 'x-carafe-names'?: string[] })['x-carafe-names']
  return names && tensors.length === 1 ? [{ ...tensors[0], parameters: { names } }] : tensors
}
