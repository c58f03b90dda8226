import type { FastifyInstance } from 'fastify'
import type { AppDeps } from './deps.js'
import { utf8JsonParser } from './json-body.js'
import { multipartInstances } from './multipart.js'
import { annotateRoutes } from './routes/annotate.js'
import { jobRoutes } from './routes/jobs.js'
import { openapiRoutes } from './routes/openapi.js'
import { opsRoutes } from './routes/ops.js'
import { uiRoutes } from './routes/ui.js'
import { v1Routes } from './routes/v1.js'
import { v2Routes } from './routes/v2.js'

/** Every Carafe route, for the standalone app and the plugin alike; the `api` scope holds what needs a key. */
export async function registerRoutes(
  app: FastifyInstance,
  deps: AppDeps,
  secureApi?: (api: FastifyInstance) => Promise<void>,
): Promise<void> {
  await app.register(opsRoutes, deps)
  await app.register(uiRoutes, deps)
  await app.register(openapiRoutes, deps)
  await app.register(async (api) => {
    await secureApi?.(api) // API keys and rate limits, scoped by encapsulation so health routes stay open
    utf8JsonParser(api) // every JSON body route lives in this scope: v1, /predict, v2 infer, annotate, jobs
    await api.register(multipartInstances)
    await api.register(v1Routes, deps)
    await api.register(v2Routes, deps)
    await api.register(annotateRoutes, deps)
    await api.register(jobRoutes, deps)
  })
}
