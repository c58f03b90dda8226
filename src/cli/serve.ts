import { readFile } from 'node:fs/promises'
import { pino } from 'pino'
import { parse as parseYaml } from 'yaml'
import { ConfigError, loadConfig, type Config } from '../config/index.js'
import { createCarafe, loadAll } from '../http/index.js'
import { ModelLoadError } from '../model/index.js'

export interface ServeFlags {
  port?: string
  host?: string
  config?: string
}

/** `carafe serve <paths...>`: exit 2 with one line on bad configuration or a model that cannot load. */
export async function serve(paths: string[], flags: ServeFlags): Promise<void> {
  let config: Readonly<Config>
  try {
    config = loadConfig({
      file: flags.config ? await readConfigFile(flags.config) : {},
      env: process.env,
      flags: { port: flags.port === undefined ? undefined : Number(flags.port), host: flags.host },
    })
  } catch (error) {
    return exitWith(error)
  }
  const logger = pino({ level: config.logLevel })
  let carafe
  try {
    carafe = await createCarafe({ descriptors: await loadAll(paths), config, logger })
  } catch (error) {
    return exitWith(error)
  }
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down: answering accepted requests, then stopping runners')
    carafe.close().then(() => process.exit(0), (error) => {
      logger.error({ err: error }, 'shutdown failed')
      process.exit(1)
    })
  }
  process.once('SIGTERM', () => stop('SIGTERM'))
  process.once('SIGINT', () => stop('SIGINT'))
  try {
    await carafe.listen()
    await carafe.started
  } catch (error) {
    logger.error({ err: error }, 'start failed')
    await carafe.close().catch(() => undefined)
    return exitWith(error)
  }
}

async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  try {
    return (parseYaml(await readFile(path, 'utf8')) ?? {}) as Record<string, unknown>
  } catch (error) {
    throw new ConfigError(`config: cannot read ${path} (${(error as Error).message.split('\n')[0]})`)
  }
}

/** One line on stderr and status 2 for what the user can fix; anything else is a crash with its stack. */
function exitWith(error: unknown): never {
  if (error instanceof ConfigError || error instanceof ModelLoadError) {
    process.stderr.write(`carafe: ${error.message}\n`)
    process.exit(2)
  }
  process.stderr.write(`carafe: ${(error as Error)?.message?.split('\n')[0] ?? error}\n`)
  process.exit(2)
}
