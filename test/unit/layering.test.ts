import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { it } from 'node:test'
import { ROOT } from '../helpers/paths.js'

// Dependencies point one way, down this list; config/ and errors.ts are free for all.
const ORDER = ['cli', 'codegen', 'http', 'client', 'host', 'jobs', 'serving', 'batching', 'runtime', 'model', 'ui']
const FREE = new Set(['config', 'errors.ts', 'errors.js', 'index.ts', 'index.js'])
const SRC = join(ROOT, 'src')

/** Each source file and the source files it imports (type-only imports too: a cycle of types is still a tangle). */
async function importGraph(): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>()
  for (const file of await listTs(SRC)) {
    const text = await readFile(file, 'utf8')
    const targets = [...text.matchAll(/from '(\.\.?\/[^']+)'/g)].map(([, target]) =>
      join(file, '..', target!).replace(/\.js$/, '.ts'),
    )
    graph.set(file, targets)
  }
  return graph
}

it('no module imports a layer above its own', async () => {
  const problems: string[] = []
  for (const [file, targets] of await importGraph()) {
    const layer = relative(SRC, file).split('/')[0]!
    if (FREE.has(layer)) continue
    for (const target of targets) {
      const to = relative(SRC, target).split('/')[0]!
      if (FREE.has(to) || to === layer || to.startsWith('..')) continue
      if (!ORDER.includes(to) || ORDER.indexOf(to) < ORDER.indexOf(layer))
        problems.push(`${relative(ROOT, file)} imports ${relative(ROOT, target)}`)
    }
  }
  assert.deepEqual(problems, [])
})

it('no import cycles, inside a folder or across', async () => {
  const graph = await importGraph()
  const cycles = findCycles(graph).map((cycle) => cycle.map((f) => relative(SRC, f)).join(' → '))
  assert.deepEqual(cycles, [])
})

it('the cycle finder sees a cycle', () => {
  const graph = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
    ['d', ['a']],
  ])
  assert.deepEqual(findCycles(graph), [['a', 'b', 'c', 'a']])
})

/** Depth-first search; each back edge closes one cycle, reported from where it was entered. */
function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = []
  const state = new Map<string, 'open' | 'done'>()
  const path: string[] = []
  const visit = (node: string): void => {
    state.set(node, 'open')
    path.push(node)
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue
      if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next])
      else if (!state.has(next)) visit(next)
    }
    path.pop()
    state.set(node, 'done')
  }
  for (const node of graph.keys()) if (!state.has(node)) visit(node)
  return cycles
}

async function listTs(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await listTs(path)))
    else if (entry.name.endsWith('.ts')) out.push(path)
  }
  return out
}
