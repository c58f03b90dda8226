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
  // KServe V2 health, beside ours so that it stays open when API keys are on
  app.get('/v2/health/live', async () => ({ live: true }))
  app.get('/v2/health/ready', async (_request, reply) =>
    reply.code(registry.ready ? 200 : 503).send({ ready: registry.ready }),
  )
}
