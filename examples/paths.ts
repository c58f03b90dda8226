import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

/**
 * The folder holding package.json, found by walking up from a module's URL.
 * Walking up, not a fixed `..`, because the same script runs from examples/ under tsx and from
 * dist/examples/ once compiled.
 */
export function projectRoot(moduleUrl: string): string {
  let dir = dirname(fileURLToPath(moduleUrl))
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir
    const parent = dirname(dir)
    if (parent === dir)
      throw new Error(
        `no package.json above ${fileURLToPath(moduleUrl)}; run the script from inside the Carafe checkout`,
      )
    dir = parent
  }
}

/** True when the module at `moduleUrl` is the file node was asked to run, not an import. */
export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1]
  if (entry === undefined || !existsSync(entry)) return false
  return moduleUrl === pathToFileURL(realpathSync(entry)).href // realpath: node resolves symlinks in import.meta.url
}

/** Writes `bytes` to `relPath` under the project root, creating folders as needed. */
export function writeProjectFile(root: string, relPath: string, bytes: Uint8Array): void {
  const out = join(root, relPath)
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, bytes)
}
