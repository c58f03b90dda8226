import { pino } from 'pino'
import { ConfigError, loadConfig, type Config } from '../config/index.js'
import { CarafeHost, loadAll } from '../host/index.js'
import { ModelLoadError } from '../model/index.js'

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
  let host: CarafeHost
  try {
    host = await CarafeHost.open({ descriptors: await loadAll(paths), config, logger, adminState: false })
    await host.start()
  } catch (error) {
    return exitWith(error)
  }
  logger.info({ models: host.registry.list().map((m) => m.name) }, 'worker ready')
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'worker stopping: running jobs finish (or go back to the queue at shutdownTimeoutMs)')
    // no listener to drain: no load balancer sends a worker traffic
    host.shutdown(undefined, { drain: false }).then(
      (outcome) => process.exit(outcome === 'clean' ? 0 : 1),
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
