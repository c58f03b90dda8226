import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { ModelSettings } from '../../config/index.js'
import { CarafeError } from '../../errors.js'
import type { AppDeps } from '../deps.js'
import { MODEL_NAME } from './v1.js'

const Version = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: '^[0-9]+$', maxLength: 12 })])
const VersionBody = Type.Object({ version: Type.Optional(Version) }, { additionalProperties: false })
const DefaultVersionBody = Type.Object({ version: Version }, { additionalProperties: false })
// the run-time settings are the config's own, so the two never drift apart
const SettingsBody = Type.Object(
  { workers: ModelSettings.properties.workers, batch: ModelSettings.properties.batch },
  { additionalProperties: false, minProperties: 1 },
)
type Params = { name: string }
type VersionBodyT = { version?: number | string } | undefined

/**
 * The management API, in the API-key scope: list models and versions with state and load error, load / unload /
 * reload a model or version from the repository, set the default version, change workers and batching at run time.
 * The changes are kept across restarts (host/admin-state.ts) until a reset.
 */
export async function adminRoutes(app: FastifyInstance, { registry, host }: AppDeps): Promise<void> {
  const view = (name: string) => ({
    name,
    defaultVersion: registry.has(name) ? registry.get(name).descriptor.version : null,
    versions: registry.versionsOf(name),
    loadError: registry.failureOf(name) ?? null,
  })
  // an empty body (no content type) is allowed where every field is optional
  const optionalBody = { body: Type.Union([VersionBody, Type.Null()]) }

  app.get('/v1/admin/models', async () => ({ models: registry.names().map(view) }))

  app.post('/v1/admin/reload', async () => {
    await host.reload()
    return { models: registry.names().map(view) }
  })

  app.post<{ Params: Params; Body: VersionBodyT }>(
    `/v1/admin/models/${MODEL_NAME}/load`,
    { schema: optionalBody },
    async (request) => {
      await host.repository.load(request.params.name, versionOf(request.body))
      return view(request.params.name)
    },
  )

  app.post<{ Params: Params; Body: VersionBodyT }>(
    `/v1/admin/models/${MODEL_NAME}/unload`,
    { schema: optionalBody },
    async (request) => {
      await host.repository.unload(request.params.name, versionOf(request.body))
      return view(request.params.name)
    },
  )

  app.post<{ Params: Params }>(`/v1/admin/models/${MODEL_NAME}/reload`, async (request) => {
    await host.repository.reload(request.params.name)
    return view(request.params.name)
  })

  app.post<{ Params: Params }>(`/v1/admin/models/${MODEL_NAME}/reset`, async (request) => {
    await host.repository.reset(request.params.name)
    return view(request.params.name)
  })

  app.put<{ Params: Params; Body: { version: number | string } }>(
    `/v1/admin/models/${MODEL_NAME}/default-version`,
    { schema: { body: DefaultVersionBody } },
    async (request) => {
      await host.repository.setDefaultVersion(request.params.name, String(Number(request.body.version)))
      return view(request.params.name)
    },
  )

  app.patch<{ Params: Params; Body: { workers?: number; batch?: false | { maxSize: number; maxDelayMs: number } } }>(
    `/v1/admin/models/${MODEL_NAME}`,
    { schema: { body: SettingsBody } },
    async (request) => {
      await host.repository.update(request.params.name, request.body)
      return view(request.params.name)
    },
  )
}

function versionOf(body: VersionBodyT | null): string | undefined {
  if (body?.version === undefined) return undefined
  const n = Number(body.version)
  if (!Number.isSafeInteger(n)) throw new CarafeError('INVALID_INPUT', 'version must be a whole number')
  return String(n)
}
