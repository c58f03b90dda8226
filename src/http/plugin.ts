import type { FastifyInstance } from 'fastify'
import { loadConfig, type Config } from '../config/index.js'
import { loadModels, type ModelDescriptor } from '../model/index.js'
import { ModelRegistry } from '../serving/index.js'
import { replyWithError } from './errors.js'
import { openapiRoutes } from './routes/openapi.js'
import { opsRoutes } from './routes/ops.js'
import { uiRoutes } from './routes/ui.js'
import { v1Routes } from './routes/v1.js'

export interface CarafePluginOptions {
  /** Model paths (.onnx, handler module, model or repository directory) or loaded descriptors. */
  models: (string | ModelDescriptor)[]
  config?: Partial<Config>
}

/**
 * Carafe inside an existing Fastify app: `host.register(carafe, { models })`.
 * Not wrapped in fastify-plugin: our error handler and routes stay in their own context, the host's logger and earlier hooks apply.
 */
export async function carafe(app: FastifyInstance, options: CarafePluginOptions): Promise<void> {
  const config = loadConfig({ flags: options.config ?? {} })
  const descriptors = (await Promise.all(options.models.map((m) => (typeof m === 'string' ? loadModels(m) : [m])))).flat()
  const registry = new ModelRegistry(descriptors, config, app.log)
  const deps = { config, registry }
  app.setErrorHandler(replyWithError)
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  await app.register(opsRoutes, deps)
  await app.register(uiRoutes, deps)
  await app.register(openapiRoutes, deps)
  await app.register(v1Routes, deps)
  // the host's ready() resolves once every model has loaded and warmed up
  app.addHook('onReady', () => registry.start())
  app.addHook('onClose', () => registry.close())
}
