import type { FastifyInstance } from 'fastify'
import type { AppDeps } from '../deps.js'
import { V2_NOT_READY } from '../protocols/kserve-v2.js'

/** Liveness and readiness; never behind an API key. */
export async function opsRoutes(app: FastifyInstance, { registry, host, jobs }: AppDeps): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_request, reply) => {
    const { ready, reason, models } = host.readiness()
    // per model: its state, whether it has a live runner right now (as /v2/models/{name}/ready says), its restarts
    const details = {
      models: Object.fromEntries(
        registry.names().map((name) => {
          const m = registry.has(name) ? registry.get(name) : undefined
          const failure = registry.failureOf(name)
          return [
            name,
            {
              state: models[name] ?? 'failed',
              ready: m?.ready ?? false,
              restarts: m?.restarts ?? 0,
              versions: registry.versionsOf(name).map(({ version, state }) => ({ version, state })),
              // a failed reload: the versions above keep serving, so readiness does not drop for it
              ...(failure ? { loadError: failure } : {}),
            },
          ]
        }),
      ),
      // job-store trouble shows here but does not drop readiness: sync prediction does not need it
      jobs: jobs.health?.() ?? { store: 'embedded', available: true },
    }
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'not ready', ...(reason ? { reason } : {}), models, details })
  })
  // KServe V2 health, beside ours so that it stays open when API keys are on
  app.get('/v2/health/live', async () => ({ live: true }))
  app.get('/v2/health/ready', async (_request, reply) => {
    const { ready } = host.readiness()
    // /readyz keeps 503, the usual answer of a replica to take out of rotation; any non-2xx fails a Kubernetes probe
    return reply.code(ready ? 200 : V2_NOT_READY).send({ ready })
  })
}
