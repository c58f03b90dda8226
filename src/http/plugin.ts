import type { FastifyInstance } from 'fastify'
import { loadConfig, type Config } from '../config/index.js'
import { CarafeHost } from '../host/index.js'
import { loadModels, type ModelDescriptor } from '../model/index.js'
import { depsOf } from './deps.js'
import { replyWithError } from './errors.js'
import { registerRoutes } from './register-routes.js'

export interface CarafePluginOptions {
  /** Model paths (.onnx, handler module, model or repository directory) or loaded descriptors. */
  models: (string | ModelDescriptor)[]
  config?: Partial<Config>
}

/**
 * Carafe inside an existing Fastify app: `host.register(carafe, { models })`. The same host (models, job store,
 * shutdown order) and the same routes, API keys, rate limit and CORS as `carafe serve`.
 * Not wrapped in fastify-plugin: our error handler and routes stay in their own context, the host's logger and earlier hooks apply.
 */
export async function carafe(app: FastifyInstance, options: CarafePluginOptions): Promise<void> {
  const config = loadConfig({ flags: options.config ?? {} })
  const descriptors = (
    await Promise.all(options.models.map((m) => (typeof m === 'string' ? loadModels(m) : [m])))
  ).flat()
  const host = await CarafeHost.open({ descriptors, config, logger: app.log })
  app.setErrorHandler(replyWithError)
  await registerRoutes(app, depsOf(host, config))
  // the host app's ready() resolves once every model has loaded and warmed up
  app.addHook('onReady', () => host.start())
  // onClose runs once the host app has answered its in-flight requests; the host app owns the listener, so no drain delay
  app.addHook('onClose', async () => {
    await host.shutdown(undefined, { drain: false })
  })
}
