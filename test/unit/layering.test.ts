import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { it } from 'node:test'
import { ROOT } from '../helpers/paths.js'

// Dependencies point one way, down this list (STYLE habit 1); config/ and errors.ts are free for all.
const ORDER = ['cli', 'codegen', 'http', 'client', 'jobs', 'serving', 'batching', 'runtime', 'model', 'ui']
const FREE = new Set(['config', 'errors.ts', 'errors.js', 'index.ts', 'index.js'])

it('no module imports a layer above its own', async () => {
  const src = join(ROOT, 'src')
  const problems: string[] = []
  for (const file of await listTs(src)) {
    const layer = relative(src, file).split('/')[0]
    if (FREE.has(layer)) continue
    const text = await readFile(file, 'utf8')
    for (const [, target] of text.matchAll(/from '(\.\.?\/[^']+)'/g)) {
      const to = relative(src, join(file, '..', target)).split('/')[0]
      if (FREE.has(to) || to === layer || to.startsWith('..')) continue
      if (!ORDER.includes(to) || ORDER.indexOf(to) < ORDER.indexOf(layer))
        problems.push(`${relative(ROOT, file)} imports ${target}`)
    }
  }
  assert.deepEqual(problems, [])
})

async function listTs(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await listTs(path)))
    else if (entry.name.endsWith('.ts')) out.push(path)
  }
  return out
}
