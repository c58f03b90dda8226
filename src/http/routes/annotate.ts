import type { FastifyInstance } from 'fastify'
import { CarafeError } from '../../errors.js'
import type { AppDeps } from '../deps.js'
import { predictOptionsFor } from '../predict-options.js'
import { AnnotateRequest, decodeAnnotate, encodeAnnotate } from '../protocols/annotate.js'
import { MODEL_NAME } from './v1.js'

/** [compat] POST /v1/models/{name}:annotate for image models that answer boxes: {"requests": [...]} → {"responses": [...]}. */
export async function annotateRoutes(app: FastifyInstance, { config, registry }: AppDeps): Promise<void> {
  app.post<{ Params: { name: string } }>(
    `/v1/models/${MODEL_NAME}::annotate`,
    { schema: { body: AnnotateRequest } },
    async (request, reply) => {
      const model = registry.get(request.params.name)
      const properties = (model.descriptor.input as { properties?: Record<string, unknown> }).properties
      if (!properties?.image) {
        throw new CarafeError(
          'NOT_FOUND',
          `Model "${model.name}" does not take an image; :annotate serves image models such as text-detection`,
        )
      }
      const instances = decodeAnnotate(request.body as Parameters<typeof decodeAnnotate>[0])
      if (instances.length > config.maxInstances) {
        throw new CarafeError(
          'TOO_MANY_INSTANCES',
          `The request carries ${instances.length} requests; the limit is ${config.maxInstances}`,
        )
      }
      return encodeAnnotate(await model.predict(instances, predictOptionsFor(request, reply)))
    },
  )
}
