import type { FastifyInstance } from 'fastify'
import type { AppDeps } from '../deps.js'

/** Liveness and readiness; never behind an API key. */
export async function opsRoutes(app: FastifyInstance, { registry }: AppDeps): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_request, reply) => {
    const models = Object.fromEntries(registry.list().map((m) => [m.name, m.state]))
    const ready = registry.ready
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', models })
  })
}
