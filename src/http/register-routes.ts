import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { CarafeError } from '../errors.js'
import type { CarafeHost } from '../host/index.js'
import { ApiKeys, AuthFailures, checkApiKey } from './auth.js'
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
  app.addHook('onSend', tagResponse(deps.host))
  await registerCors(app, deps.config)
  if (metrics && !deps.config.metricsAuth) metricsRoute(app, metrics)
  await app.register(opsRoutes, deps)
  // the index page, the OpenAPI document and Swagger UI show every model and its schema: with keys, only to key holders.
  // Their own scope, so the API's requests do not run this hook too.
  await app.register(async (docs) => {
    if (!deps.config.publicDocs)
      docs.addHook('onRequest', (request, reply, done) => {
        try {
          if (isDocsRoute(request.routeOptions.url)) checkApiKey(keys, failures, request, reply)
        } catch (error) {
          return done(error as Error)
        }
        done()
      })
    await docs.register(uiRoutes, deps)
    await docs.register(openapiRoutes, deps)
  })
  await app.register(async (api) => {
    // API keys and rate limits, scoped by encapsulation so health routes stay open; then, once the drain is over, a
    // request that would start new work (a prediction, a job) is refused at the edge, in our envelope. Inside the
    // process nothing is refused: accepted requests, running jobs and their ctx.models calls still reach the models.
    // One synchronous hook for both: an async hook each cost a promise and a turn of the hook runner per request.
    api.addHook('onRequest', (request, reply, done) => {
      try {
        checkApiKey(keys, failures, request, reply)
      } catch (error) {
        return done(error as Error)
      }
      if (!deps.host.accepting && request.method === 'POST') return done(new CarafeError('SHUTTING_DOWN'))
      done()
    })
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
 * Every answer carries its request id (our error envelope names it too). From SIGTERM on, every response also closes its
 * connection: keep-alive clients reconnect (to another replica), and the listener's close is not held up by connections
 * that were busy when it began. Decided at send time, so a request accepted before SIGTERM and answered after it closes
 * its connection too. Set here rather than in an onRequest hook of its own: one hook fewer on every request.
 */
function tagResponse(host: CarafeHost) {
  return (
    request: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
    done: (error: null, payload: unknown) => void,
  ) => {
    reply.header('x-request-id', request.id)
    // HTTP/2 has no connection header (Node refuses it); its clients see GOAWAY when the server closes
    if (host.phase !== 'serving' && request.raw.httpVersionMajor < 2) reply.header('connection', 'close')
    done(null, payload)
  }
}
