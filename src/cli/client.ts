import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { clientModule, typeStem } from '../codegen/index.js'
import { loadAll } from '../http/index.js'
import { oneVersionEach } from '../model/index.js'

/** `carafe client <paths...> [--out file]`: a typed TypeScript client module for these models, without a server or a runner. */
export async function client(paths: string[], flags: { out?: string }): Promise<void> {
  try {
    const models = oneVersionEach(await loadAll(paths))
    const source = clientModule(models)
    if (!flags.out) {
      process.stdout.write(source)
      return
    }
    await write(flags.out, source)
    process.stdout.write(`wrote ${flags.out}: ${models.map((m) => `create${typeStem(m.name)}Client`).join(', ')}\n`)
  } catch (error) {
    // Same as `carafe serve`: what the user can fix (a bad path, an unwritable --out) is one line and status 2.
    process.stderr.write(`carafe: ${(error as Error)?.message?.split('\n')[0] ?? error}\n`)
    process.exit(2)
  }
}

async function write(file: string, text: string): Promise<void> {
  try {
    await mkdir(dirname(file), { recursive: true })
    await writeFile(file, text)
  } catch (error) {
    throw new Error(`client: cannot write ${file} (${(error as Error).message})`)
  }
}
