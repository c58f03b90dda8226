import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { applyModelSettings, type Config } from '../config/index.js'
import { loadModels, type ModelDescriptor } from '../model/index.js'
import { ModelRegistry } from '../serving/index.js'
import { openJobStore } from '../jobs/index.js'
import { buildApp } from './app.js'

export interface Carafe {
  app: FastifyInstance
  registry: ModelRegistry
  /** Listen first (so /healthz answers and /readyz says 503 while loading), then load every model in the background. */
  listen(): Promise<string>
  /** Settles when every model has loaded and warmed up (rejects on the first that cannot). */
  readonly started: Promise<void>
  /** Stop accepting, answer what was accepted, stop the runners. */
  close(): Promise<void>
}

/** Load descriptors for every path; throws ModelLoadError naming the file on the first bad one. */
export async function loadAll(paths: string[]): Promise<ModelDescriptor[]> {
  const all = (await Promise.all(paths.map(loadModels))).flat()
  // `carafe serve examples/ocr examples/text-detection` names text-detection twice (once through requires): serve it once.
  const key = (d: ModelDescriptor) => `${d.name}\0${d.source.path}`
  return all.filter((d, i) => all.findIndex((e) => key(e) === key(d)) === i)
}

export async function createCarafe({
  descriptors,
  config,
  logger,
}: {
  descriptors: ModelDescriptor[]
  config: Readonly<Config>
  logger: FastifyBaseLogger
}): Promise<Carafe> {
  const registry = new ModelRegistry(applyModelSettings(descriptors, config), config, logger)
  const jobs = await openJobStore(config, logger)
  const app = await buildApp({ config, registry, jobs, logger })
  let closing: Promise<void> | undefined
  let markStarted: (value: Promise<void>) => void
  const started = new Promise<void>((resolve) => (markStarted = resolve))
  started.catch(() => undefined) // observed by whoever awaits it; never an unhandled rejection
  return {
    app,
    registry,
    started,
    async listen() {
      const url = await app.listen({ port: config.port, host: config.host })
      markStarted(
        registry.start().then(() => {
          logger.info({ models: registry.list().map((m) => m.name), url }, 'ready')
          // background jobs go through the same predict path (queue, batcher, runner) as sync requests
          jobs.start((job, options) => registry.get(job.model).predict(job.instances, { ...options, job: true }))
        }),
      )
      return url
    },
    close() {
      closing ??= (async () => {
        registry.stopAccepting() // /readyz turns 503 and new predictions get SHUTTING_DOWN; queued work still runs
        await app.close()
        await jobs.close()
        await registry.close()
      })()
      return closing
    },
  }
}
