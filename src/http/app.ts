import type { Http2SecureServer } from 'node:http2'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify'
import { CarafeError } from '../errors.js'
import type { AppDeps } from './deps.js'
import { clientErrorHandler } from './client-error.js'
import { limitConnections } from './connection-limit.js'
import { boundHttp2Streams } from './http2-limits.js'
import { replyWithError } from './errors.js'
import { createMetrics } from './metrics.js'
import { requestIdFor } from './request-id.js'
import { registerRoutes } from './register-routes.js'
import { serverOptions } from './server-options.js'
import { endSilentConnectionsOnClose } from './silent-connections.js'

const ALL_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'] as const

export async function buildApp(deps: AppDeps & { logger: FastifyBaseLogger }): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: deps.config.bodyLimit,
    // one line per request, written in onResponse below, instead of Fastify's two
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestIdFor,
    // a logger that writes nothing at all needs no per-request child (it only binds the request id to lines never
    // written): the request gets the logger itself
    childLoggerFactory: (logger, bindings, options) =>
      levelEnabled(logger, 'fatal') ? logger.child(bindings, options) : logger,
    // during shutdown our routes answer SHUTTING_DOWN in our envelope, instead of Fastify's bare closing 503
    return503OnClosing: false,
    // Fastify's default Ajv coerces "5.1" into 5.1 (coerceTypes: 'array'); we refuse it
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false } },
    // bad percent-encoding and over-long path segments are refused by the router, before our error handler
    frameworkErrors: replyWithError,
    clientErrorHandler,
    ...serverOptions(deps.config),
  }) as unknown as FastifyInstance
  limitConnections(app.server, deps.config, deps.logger)
  if (deps.config.http2) boundHttp2Streams(app.server as unknown as Http2SecureServer, deps.config)
  else endSilentConnectionsOnClose(app)
  app.removeContentTypeParser('text/plain')
  app.setErrorHandler(replyWithError)
  app.setNotFoundHandler((request, reply) => {
    const error = notFound(app, request)
    if (error.code === 'METHOD_NOT_ALLOWED')
      reply.header('allow', (error.details![0] as { allow: string[] }).allow.join(', '))
    return replyWithError(error, request, reply)
  })
  // callback style: an async hook cost a promise and a turn of the hook runner on every request
  app.addHook('onResponse', (request, reply, done) => {
    const model = (request.params as { name?: string } | undefined)?.name
    const elapsedMs = reply.elapsedTime
    // the line's object is not even built when nobody would read it
    if (levelEnabled(request.log, 'info'))
      request.log.info(
        { method: request.method, url: request.url, model, status: reply.statusCode, ms: round(elapsedMs) },
        'request',
      )
    metrics.observe(model, request.routeOptions.url ?? 'unmatched', reply.statusCode, elapsedMs / 1000)
    done()
  })

  const metrics = createMetrics(deps.registry, deps.jobs)
  await registerRoutes(app, deps, { metrics })
  return app
}

/** 405 with Allow when the path exists under other methods (Fastify answers 404 for those). */
function notFound(app: FastifyInstance, request: FastifyRequest): CarafeError {
  const url = request.url.split('?')[0]
  const allowed = ALL_METHODS.filter((method) => method !== request.method && app.findRoute({ method, url }) !== null)
  if (allowed.length > 0) {
    return new CarafeError(
      'METHOD_NOT_ALLOWED',
      `${request.method} is not allowed on ${url}; use ${allowed.join(', ')}`,
      [{ allow: allowed }],
    )
  }
  return new CarafeError('NOT_FOUND', `No route for ${request.method} ${url}`)
}

/** pino's level check; a logger without one (any object with the log methods will do for Fastify) logs everything. */
function levelEnabled(logger: FastifyBaseLogger, level: string): boolean {
  const check = (logger as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled
  return typeof check !== 'function' || check.call(logger, level)
}

const round = (x: number) => Math.round(x * 1000) / 1000
