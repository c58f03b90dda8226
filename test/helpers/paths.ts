import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The project root (tests run compiled from dist/test/…, fixtures and examples stay in the source tree). */
export const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)))

function findRoot(dir: string): string {
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error('package.json not found above the tests')
    dir = parent
  }
  return dir
}

export const fixture = (name: string) => join(ROOT, 'test', 'fixtures', name)
export const example = (name: string) => join(ROOT, 'examples', name)
export const CLI = join(ROOT, 'bin', 'carafe.js')
