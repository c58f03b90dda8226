import type { FastifyInstance } from 'fastify'
import { applyModelSettings, loadConfig, type Config } from '../config/index.js'
import { loadModels, type ModelDescriptor } from '../model/index.js'
import { ModelRegistry } from '../serving/index.js'
import { replyWithError } from './errors.js'
import { openJobStore } from '../jobs/index.js'
import { registerRoutes } from './register-routes.js'

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
  const descriptors = (
    await Promise.all(options.models.map((m) => (typeof m === 'string' ? loadModels(m) : [m])))
  ).flat()
  // the config's `models.<name>` settings (cache, batch, workers, …) apply here as in `carafe serve`
  const registry = new ModelRegistry(applyModelSettings(descriptors, config), config, app.log)
  const jobs = await openJobStore(config, app.log)
  const deps = { config, registry, jobs }
  app.setErrorHandler(replyWithError)
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  await registerRoutes(app, deps)
  // the host's ready() resolves once every model has loaded and warmed up
  app.addHook('onReady', async () => {
    await registry.start()
    jobs.start((job, runOptions) => registry.get(job.model).predict(job.instances, { ...runOptions, job: true }))
  })
  app.addHook('onClose', async () => {
    await jobs.close()
    await registry.close()
  })
}
