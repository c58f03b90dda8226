import type { FastifyInstance } from 'fastify'
import { CarafeError } from '../../errors.js'
import { indexPage, loadUiAssets, playgroundPage } from '../../ui/index.js'
import type { AppDeps } from '../deps.js'
import { registerUiSecurity } from '../ui-security.js'
import { MODEL_NAME } from './v1.js'

/** The web playground: HTML shells and their static assets, outside the API-key scope (the page asks for the key). */
export async function uiRoutes(app: FastifyInstance, { registry }: AppDeps): Promise<void> {
  await registerUiSecurity(app)
  const assets = loadUiAssets()
  const html = 'text/html; charset=utf-8'

  app.get('/', async (_request, reply) =>
    reply.type(html).send(
      indexPage(
        registry.list().map((m) => {
          const { name, description, version, state } = m.describe()
          return { name, description, version, state }
        }),
      ),
    ),
  )

  app.get<{ Params: { name: string } }>(`/ui/models/${MODEL_NAME}`, async (request, reply) => {
    // outside the key scope: the 404 names no other model (the index page lists them, to whoever may see it)
    if (!registry.has(request.params.name))
      throw new CarafeError('MODEL_NOT_FOUND', `No model named "${request.params.name.slice(0, 100)}" is served`)
    return reply.type(html).send(playgroundPage(request.params.name))
  })

  // browsers ask for /favicon.ico on every origin (for pages without a <link rel="icon"> too, such as /docs)
  const icon = assets.get('favicon.svg')!
  app.get('/favicon.ico', async (_request, reply) =>
    reply.type(icon.type).header('cache-control', 'public, max-age=86400').send(icon.body),
  )

  app.get<{ Params: { file: string } }>('/ui/assets/:file', async (request, reply) => {
    const asset = assets.get(request.params.file)
    if (!asset) throw new CarafeError('NOT_FOUND', `No playground asset named ${JSON.stringify(request.params.file)}`)
    return reply.type(asset.type).header('cache-control', 'no-cache').send(asset.body)
  })
}
