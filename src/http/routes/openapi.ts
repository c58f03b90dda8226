import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { buildOpenApi } from '../openapi/index.js'
import type { AppDeps } from '../deps.js'

/** GET /openapi.json from the served models' schemas, and Swagger UI at /docs from the package's own files. */
export async function openapiRoutes(app: FastifyInstance, { config, registry }: AppDeps): Promise<void> {
  const document = buildOpenApi(
    registry.list().map((m) => m.descriptor),
    config,
  )
  app.get('/openapi.json', async () => document)
  // static mode: @fastify/swagger serves our document instead of deriving one from the route table
  await app.register(swagger, { mode: 'static', specification: { document: document as never } })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { validatorUrl: null } as never,
    // the package's CSP (hashes of its own inline code), minus the HTTPS upgrade that breaks it on plain HTTP,
    // and no framing, as for the playground pages
    staticCSP: true,
    transformStaticCSP: (header) =>
      header.replace(/\s*upgrade-insecure-requests;?/, '').replace("frame-ancestors 'self'", "frame-ancestors 'none'"),
    uiHooks: {
      onRequest: (_request, reply, done) => {
        reply.header('x-frame-options', 'DENY').header('x-content-type-options', 'nosniff')
        done()
      },
    },
  })
}
