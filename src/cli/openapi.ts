import { readFile } from 'node:fs/promises'
import { parse as parseYaml } from 'yaml'
import { loadConfig } from '../config/index.js'
import { buildOpenApi, loadAll } from '../http/index.js'

/** `carafe openapi <paths...>`: print the OpenAPI document for these models without starting a server or a runner. */
export async function openapi(paths: string[], flags: { config?: string }): Promise<void> {
  try {
    const file = flags.config
      ? ((parseYaml(await readFile(flags.config, 'utf8')) ?? {}) as Record<string, unknown>)
      : {}
    const config = loadConfig({ file, env: process.env, flags: {} })
    process.stdout.write(JSON.stringify(buildOpenApi(await loadAll(paths), config), null, 2) + '\n')
  } catch (error) {
    process.stderr.write(`carafe: ${(error as Error)?.message?.split('\n')[0] ?? error}\n`)
    process.exit(2)
  }
}
