import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { CarafeError } from '../../errors.js'
import type { AppDeps } from '../deps.js'
import { predictOptionsFor } from '../predict-options.js'
import { decodeV2, encodeV2, tensorMetadata, v2Inputs } from '../protocols/kserve-v2.js'
import { MODEL_NAME } from './v1.js'

const InferRequest = Type.Object({
  id: Type.Optional(Type.String({ maxLength: 256 })),
  inputs: Type.Array(
    Type.Object({
      name: Type.String(),
      shape: Type.Array(Type.Integer({ minimum: 0 })),
      datatype: Type.String(),
      data: Type.Array(Type.Unknown()),
    }),
    { minItems: 1 },
  ),
})

/** KServe V2 Open Inference Protocol: server and model metadata, and tensor inference. */
export async function v2Routes(app: FastifyInstance, { config, registry }: AppDeps): Promise<void> {
  app.get('/v2', async () => ({ name: 'carafe', version: '0.1.0', extensions: [] }))

  app.get<{ Params: { name: string } }>(`/v2/models/${MODEL_NAME}`, async (request) => {
    const { descriptor } = registry.get(request.params.name)
    const signature = descriptor.source.kind === 'onnx' ? descriptor.source.signature : undefined
    return {
      name: descriptor.name,
      versions: [descriptor.version],
      platform: signature ? 'onnxruntime_onnx' : 'carafe_handler',
      inputs: signature ? withNames(v2Inputs(descriptor).inputs.map(tensorMetadata), descriptor.input) : [],
      outputs: signature?.outputs.map(tensorMetadata) ?? [],
    }
  })

  app.get<{ Params: { name: string } }>(`/v2/models/${MODEL_NAME}/ready`, async (request, reply) => {
    const model = registry.get(request.params.name)
    return reply.code(model.ready ? 200 : 503).send({ name: model.name, ready: model.ready })
  })

  async function infer(
    request: FastifyRequest<{ Params: { name: string; version?: string }; Body: { id?: string } }>,
    reply: FastifyReply,
  ) {
    const model = registry.get(request.params.name)
    const { version } = request.params
    if (version !== undefined && version !== model.descriptor.version) {
      throw new CarafeError(
        'MODEL_NOT_FOUND',
        `Model "${model.name}" is served at version ${model.descriptor.version}, not ${version}`,
      )
    }
    const instances = decodeV2(request.body, model.descriptor, config.maxInstances)
    const predictions = await model.predict(instances, predictOptionsFor(request, reply))
    return encodeV2(predictions, model.descriptor, request.body.id)
  }
  app.post(`/v2/models/${MODEL_NAME}/infer`, { schema: { body: InferRequest } }, infer)
  app.post(`/v2/models/${MODEL_NAME}/versions/:version(^[0-9]+)/infer`, { schema: { body: InferRequest } }, infer)
}

/** carafe.yaml `inputNames` on the one input tensor they name, as MLServer puts extra tensor metadata in `parameters`. */
function withNames<T extends object>(tensors: T[], input: unknown): (T & { parameters?: { names: string[] } })[] {
  const names = (input as { 'x-carafe-names'?: string[] })['x-carafe-names']
  return names && tensors.length === 1 ? [{ ...tensors[0], parameters: { names } }] : tensors
}
