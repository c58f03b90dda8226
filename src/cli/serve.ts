import { readFile } from 'node:fs/promises'
import { pino } from 'pino'
import { parse as parseYaml, stringify as toYaml } from 'yaml'
import { ConfigError, loadConfig, maskedConfig, type Config } from '../config/index.js'
import type { Carafe } from '../http/index.js'
import { ModelLoadError } from '../model/load-error.js'
import { configFlags } from './serve-flags.js'

export interface ServeFlags extends Record<string, unknown> {
  config?: string
  printConfig?: boolean
}

/** `carafe serve <paths...>`: exit 2 with one line on bad configuration or a model that cannot load. */
export async function serve(paths: string[], flags: ServeFlags): Promise<void> {
  let config: Readonly<Config>
  try {
    config = loadConfig({
      file: flags.config ? await readConfigFile(flags.config) : {},
      env: process.env,
      flags: configFlags(flags),
    })
  } catch (error) {
    return exitWith(error)
  }
  if (flags.printConfig) {
    process.stdout.write(toYaml(maskedConfig(config)))
    return
  }
  if (paths.length === 0)
    return exitWith(
      new ConfigError('serve: give at least one model path (an .onnx file, a handler module or a model directory)'),
    )
  const logger = pino({ level: config.logLevel })
  // SIGHUP's default action ends the process, and `systemctl reload` (docs/deployment.md) sends it: never stop on it.
  // The key file, when there is one, is re-read by its own SIGHUP listener (http/auth.ts).
  let carafe: Carafe | undefined
  process.on('SIGHUP', () => {
    logger.info(
      { signal: 'SIGHUP', apiKeysFile: config.apiKeysFile ?? null },
      config.apiKeysFile
        ? 'SIGHUP: re-reading the API key file and rescanning the model repository'
        : 'SIGHUP: rescanning the model repository',
    )
    carafe?.host.reload().catch((error: unknown) => logger.error({ err: error }, 'SIGHUP: repository rescan failed'))
  })
  try {
    // loaded once the configuration is known to be good: a bad flag answers without loading the HTTP stack
    const { createCarafe, loadAll } = await import('../http/index.js')
    carafe = await createCarafe({ descriptors: await loadAll(paths), config, logger, paths })
  } catch (error) {
    return exitWith(error)
  }
  let stopping = false
  const running = carafe
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down: draining, then answering accepted requests, then stopping runners')
    // 0 when everything accepted was answered; 1 when shutdownTimeoutMs cut it short (running jobs went back to the queue)
    running.close().then(
      (outcome) => process.exit(outcome === 'clean' ? 0 : 1),
      (error) => {
        logger.error({ err: error }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', () => stop('SIGTERM'))
  process.once('SIGINT', () => stop('SIGINT'))
  try {
    await running.listen()
    await running.started
  } catch (error) {
    logger.error({ err: error }, 'start failed')
    await running.close().catch(() => undefined)
    return exitWith(error)
  }
}

async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  try {
    const parsed = parseYaml(await readFile(path, 'utf8')) ?? {}
    if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the top level must be a map of keys')
    return parsed as Record<string, unknown>
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
