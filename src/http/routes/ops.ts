import type { FastifyInstance } from 'fastify'
import type { AppDeps } from '../deps.js'

/** Liveness and readiness; never behind an API key. */
export async function opsRoutes(app: FastifyInstance, { registry, jobs }: AppDeps): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_request, reply) => {
    const models = Object.fromEntries(registry.list().map((m) => [m.name, m.state]))
    const ready = registry.ready
    // job-store trouble shows here but does not drop readiness: sync prediction does not need it
    const details = { models, jobs: jobs.health?.() ?? { store: 'embedded', available: true } }
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', ...details })
  })
  // KServe V2 health, beside ours so that it stays open when API keys are on
  app.get('/v2/health/live', async () => ({ live: true }))
  app.get('/v2/health/ready', async (_request, reply) =>
    reply.code(registry.ready ? 200 : 503).send({ ready: registry.ready }),
  )
}
