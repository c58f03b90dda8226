import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { CarafeError } from '../../errors.js'
import type { AppDeps } from '../deps.js'
import { predictOptionsFor } from '../predict-options.js'
import { decodeV1, encodeV1 } from '../protocols/kserve-v1.js'
import { PredictRequest } from '../schemas.js'

// `:name(^[^:/]+)` keeps "iris:predict" out of the name parameter (a bare `:name::predict` is one parameter, `name::predict`)
export const MODEL_NAME = ':name(^[^:/]+)'
export const VERSION_NAME = ':version(^[^:/]+)'

/** The synchronous API: predict, and list/describe models. */
export async function v1Routes(app: FastifyInstance, { config, registry, jobs }: AppDeps): Promise<void> {
  async function predict(name: string, request: FastifyRequest, reply: FastifyReply, version?: string) {
    const model = registry.get(name, version)
    const instances = decodeV1(request.body, config.maxInstances)
    const outputs = await model.predict(instances, predictOptionsFor(request, reply))
    return encodeV1(outputs)
  }

  app.post<{ Params: { name: string } }>(
    `/v1/models/${MODEL_NAME}::predict`,
    { schema: { body: PredictRequest } },
    (request, reply) => predict(request.params.name, request, reply),
  )
  app.post<{ Params: { name: string; version: string } }>(
    `/v1/models/${MODEL_NAME}/versions/${VERSION_NAME}::predict`,
    { schema: { body: PredictRequest } },
    (request, reply) => predict(request.params.name, request, reply, request.params.version),
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
    models: registry.names().map((name) => {
      const failure = registry.failureOf(name)
      const served = registry.has(name) ? registry.get(name).describe() : undefined
      return {
        name,
        // the default version: the one a request without a version reaches
        version: served?.version ?? null,
        description: served?.description ?? '',
        state: served?.state ?? 'failed',
        versions: registry.versionsOf(name),
        ...(failure ? { loadError: failure } : {}),
        links: { self: `/v1/models/${name}`, predict: `/v1/models/${name}:predict` },
      }
    }),
  }))

  app.get<{ Params: { name: string } }>(`/v1/models/${MODEL_NAME}`, async (request) => {
    const name = request.params.name
    const described = registry.get(name).describe()
    const failure = registry.failureOf(name)
    return {
      ...described,
      versions: registry.versionsOf(name),
      ...(failure ? { loadError: failure } : {}),
      stats: { ...described.stats, jobs: jobs.stats(described.name) },
    }
  })

  app.get<{ Params: { name: string; version: string } }>(
    `/v1/models/${MODEL_NAME}/versions/${VERSION_NAME}`,
    async (request) => registry.get(request.params.name, request.params.version).describe(),
  )
}
