import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { CarafeError } from '../../errors.js'
import type { AppDeps } from '../deps.js'
import { predictOptionsFor } from '../predict-options.js'
import { decodeV1, encodeV1 } from '../protocols/kserve-v1.js'
import { PredictRequest } from '../schemas.js'

// `:name(^[^:/]+)` keeps "iris:predict" out of the name parameter (a bare `:name::predict` is one parameter, `name::predict`)
export const MODEL_NAME = ':name(^[^:/]+)'

/** The synchronous API: predict, and list/describe models. */
export async function v1Routes(app: FastifyInstance, { config, registry, jobs }: AppDeps): Promise<void> {
  async function predict(name: string, request: FastifyRequest, reply: FastifyReply) {
    const model = registry.get(name)
    const instances = decodeV1(request.body, config.maxInstances)
    const outputs = await model.predict(instances, predictOptionsFor(request, reply))
    return encodeV1(outputs)
  }

  app.post<{ Params: { name: string } }>(
    `/v1/models/${MODEL_NAME}::predict`,
    { schema: { body: PredictRequest } },
    (request, reply) => predict(request.params.name, request, reply),
  )

  // The classic Flask shape, when exactly one model is served.
  app.post('/predict', { schema: { body: PredictRequest } }, (request, reply) => {
    const models = registry.list()
    if (models.length !== 1) {
      throw new CarafeError(
        'MODEL_NOT_FOUND',
        `POST /predict needs exactly one served model; ${models.length} are served: use /v1/models/{name}:predict`,
        [{ available: models.map((m) => m.name) }],
      )
    }
    return predict(models[0].name, request, reply)
  })

  app.get('/v1/models', async () => ({
    models: registry.list().map((m) => {
      const { name, version, description, state } = m.describe()
      return {
        name,
        version,
        description,
        state,
        links: { self: `/v1/models/${name}`, predict: `/v1/models/${name}:predict` },
      }
    }),
  }))

  app.get<{ Params: { name: string } }>(`/v1/models/${MODEL_NAME}`, async (request) => {
    const described = registry.get(request.params.name).describe()
    return { ...described, stats: { ...described.stats, jobs: jobs.stats(described.name) } }
  })
}
