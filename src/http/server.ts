import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import type { Config } from '../config/index.js'
import { CarafeHost, loadAll, type ShutdownOutcome } from '../host/index.js'
import type { ModelDescriptor } from '../model/index.js'
import type { ModelRegistry } from '../serving/index.js'
import { buildApp } from './app.js'
import { depsOf } from './deps.js'

export { loadAll }

export interface Carafe {
  app: FastifyInstance
  host: CarafeHost
  registry: ModelRegistry
  /** Listen first (so /healthz answers and /readyz says 503 while loading), then load every model in the background. */
  listen(): Promise<string>
  /** Settles when every model has loaded and warmed up (rejects on the first that cannot). */
  readonly started: Promise<void>
  /** The host's ordered shutdown (drain, refuse new work, answer what was accepted, stop); see CarafeHost.shutdown. */
  close(): Promise<ShutdownOutcome>
}

export async function createCarafe({
  descriptors,
  config,
  logger,
  paths,
}: {
  descriptors: ModelDescriptor[]
  config: Readonly<Config>
  logger: FastifyBaseLogger
  /** The served paths; the directories among them are watched for model changes. */
  paths?: string[]
}): Promise<Carafe> {
  const host = await CarafeHost.open({ descriptors, config, logger, paths })
  const app = await buildApp({ ...depsOf(host, config), logger })
  let markStarted: (value: Promise<void>) => void
  const started = new Promise<void>((resolve) => (markStarted = resolve))
  started.catch(() => undefined) // observed by whoever awaits it; never an unhandled rejection
  return {
    app,
    host,
    registry: host.registry,
    started,
    async listen() {
      const url = await app.listen({ port: config.port, host: config.host })
      markStarted(
        host.start().then(() => logger.info({ models: host.registry.list().map((m) => m.name), url }, 'ready')),
      )
      return url
    },
    close: () => host.shutdown(() => app.close()),
  }
}
