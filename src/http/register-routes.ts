import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { CarafeError } from '../errors.js'
import type { CarafeHost } from '../host/index.js'
import { ApiKeys, AuthFailures, requireApiKey } from './auth.js'
import type { AppDeps } from './deps.js'
import { utf8JsonParser } from './json-body.js'
import { registerCors, registerRateLimit } from './limits.js'
import { type createMetrics, metricsRoute } from './metrics.js'
import { multipartInstances } from './multipart.js'
import { adminRoutes } from './routes/admin.js'
import { annotateRoutes } from './routes/annotate.js'
import { jobRoutes } from './routes/jobs.js'
import { openapiRoutes } from './routes/openapi.js'
import { opsRoutes } from './routes/ops.js'
import { uiRoutes } from './routes/ui.js'
import { v1Routes } from './routes/v1.js'
import { v2Routes } from './routes/v2.js'

/**
 * Every Carafe route with its security (API keys, rate limit, CORS) and shutdown behaviour, for the standalone app
 * and the plugin alike: one place, so both apply the same config. The `api` scope holds what needs a key.
 */
export async function registerRoutes(
  app: FastifyInstance,
  deps: AppDeps,
  { metrics }: { metrics?: ReturnType<typeof createMetrics> } = {},
): Promise<void> {
  const keys = new ApiKeys(deps.config, app.log)
  // one throttle for every key check (API scope, docs, metrics), so a guesser cannot move between them
  const failures = new AuthFailures(deps.config.authFailureLimit, deps.config.rateLimitWindowMs)
  app.addHook('onClose', async () => keys.close())
  // the index page, the OpenAPI document and Swagger UI show every model and its schema: with keys, only to key holders
  if (!deps.config.publicDocs) {
    const guard = requireApiKey(keys, failures)
    app.addHook('onRequest', async (request, reply) => {
      if (isDocsRoute(request.routeOptions.url)) await guard(request, reply)
    })
  }
  app.addHook('onSend', closeConnectionsWhenStopping(deps.host))
  await registerCors(app, deps.config)
  if (metrics && !deps.config.metricsAuth) metricsRoute(app, metrics)
  await app.register(opsRoutes, deps)
  await app.register(uiRoutes, deps)
  await app.register(openapiRoutes, deps)
  await app.register(async (api) => {
    // API keys and rate limits, scoped by encapsulation so health routes stay open
    api.addHook('onRequest', requireApiKey(keys, failures))
    api.addHook('onRequest', refuseNewWorkWhenClosing(deps.host))
    await registerRateLimit(api, deps.config)
    if (metrics && deps.config.metricsAuth) metricsRoute(api, metrics)
    utf8JsonParser(api) // every JSON body route lives in this scope: v1, /predict, v2 infer, annotate, jobs
    await api.register(multipartInstances)
    await api.register(v1Routes, deps)
    await api.register(v2Routes, deps)
    await api.register(annotateRoutes, deps)
    await api.register(jobRoutes, deps)
    await api.register(adminRoutes, deps)
  })
}

const isDocsRoute = (url: string | undefined) =>
  url === '/' || url === '/openapi.json' || url === '/docs' || url?.startsWith('/docs/') === true

/**
 * From SIGTERM on, every response closes its connection: keep-alive clients reconnect (to another replica), and the
 * listener's close is not held up by connections that were busy when it began. Decided at send time, so a request
 * accepted before SIGTERM and answered after it closes its connection too.
 */
function closeConnectionsWhenStopping(host: CarafeHost) {
  return async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    // HTTP/2 has no connection header (Node refuses it); its clients see GOAWAY when the server closes
    if (host.phase !== 'serving' && request.raw.httpVersionMajor < 2) reply.header('connection', 'close')
    return payload
  }
}

/**
 * Once the drain is over, a request that would start new work (a prediction, a job) is refused here, at the edge,
 * in our envelope. Inside the process nothing is refused: accepted requests, running jobs and their ctx.models calls
 * still reach the models until they are answered.
 */
function refuseNewWorkWhenClosing(host: CarafeHost) {
  return async (request: FastifyRequest) => {
    if (!host.accepting && request.method === 'POST') throw new CarafeError('SHUTTING_DOWN')
  }
}
