import { pino } from 'pino'
import { ConfigError, applyModelSettings, loadConfig, type Config } from '../config/index.js'
import { loadAll } from '../http/index.js'
import { openJobStore } from '../jobs/index.js'
import { ModelLoadError } from '../model/index.js'
import { ModelRegistry } from '../serving/index.js'

/** `carafe worker <paths...> --jobs redis://…`: load the models once, then run background jobs from Redis, no HTTP. */
export async function worker(paths: string[], flags: { jobs?: string; concurrency?: string }): Promise<void> {
  let config: Readonly<Config>
  try {
    config = loadConfig({
      env: process.env,
      flags: {
        ...(flags.jobs ? { jobs: flags.jobs } : {}),
        ...(flags.concurrency ? { jobConcurrency: Number(flags.concurrency) } : {}),
      },
    })
    if (!config.jobs.startsWith('redis://'))
      throw new ConfigError(`worker: --jobs must be a redis:// URL (got ${JSON.stringify(config.jobs)})`)
  } catch (error) {
    return exitWith(error)
  }
  const logger = pino({ level: config.logLevel })
  let registry: ModelRegistry
  try {
    registry = new ModelRegistry(applyModelSettings(await loadAll(paths), config), config, logger)
    await registry.start()
  } catch (error) {
    return exitWith(error)
  }
  const jobs = await openJobStore(config, logger)
  // same predict path (queue, batcher, runner) as the server
  jobs.start((job, options) => registry.get(job.model).predict(job.instances, { ...options, job: true }))
  logger.info({ models: registry.list().map((m) => m.name) }, 'worker ready')
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'worker stopping: running jobs go back to the queue')
    jobs
      .close()
      .then(() => registry.close())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      )
  }
  process.once('SIGTERM', () => stop('SIGTERM'))
  process.once('SIGINT', () => stop('SIGINT'))
}

function exitWith(error: unknown): never {
  const known = error instanceof ConfigError || error instanceof ModelLoadError
  process.stderr.write(
    `carafe: ${known ? (error as Error).message : ((error as Error)?.message?.split('\n')[0] ?? error)}\n`,
  )
  process.exit(2)
}
