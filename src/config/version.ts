import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The version in package.json, the one place it is written (read at start, from a clone or an installed package). */
export const VERSION: string = readVersion(dirname(fileURLToPath(import.meta.url)))

// Walk up, not a fixed `../..`: this file runs from src/config/ (tsx) and from dist/src/config/ (built)
function readVersion(dir: string): string {
  for (;;) {
    const file = join(dir, 'package.json')
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'carafe' && pkg.version) return pkg.version
    }
    const parent = dirname(dir)
    if (parent === dir) throw new Error('carafe: package.json not found above ' + fileURLToPath(import.meta.url))
    dir = parent
  }
}
