import { join } from 'node:path'
import Fastify from 'fastify'
import type { BatchPolicy } from '../src/model/index.js'
import { load, type LoadResult } from './load.js'
import { rawRowsPerSecond } from './raw-onnx.js'
import { benchImages } from './images.js'
import { benchJobs } from './jobs.js'
import { serveModel } from './serve-model.js'
import { benchV2 } from './v2.js'

// `npm run bench`: the physical limit (raw onnxruntime), the HTTP floor (a constant Fastify route) and Carafe side by
// side. Each section runs BENCH_ROUNDS times (3 by default) and every row prints its median and range; ratios are taken
// within each round (Carafe against the floor measured minutes apart, not hours), then summarized the same way.
// `--only sync,jobs` picks sections; `--json` prints one JSON document on stdout instead of the tables (which go to
// stderr then).
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const SECTIONS = ['sync', 'jobs', 'images', 'v2'] as const
type Section = (typeof SECTIONS)[number]
const args = process.argv.slice(2)
const only = onlySections(args)
const asJson = args.includes('--json')
const emit = console.log.bind(console)
// with --json, stdout carries the JSON document only: every table and section's own lines go to stderr
if (asJson) console.log = console.error
const out = console.log
const ROOT = process.cwd()
const model = (name: string) => join(ROOT, 'examples', name)
const IRIS_ROW = [5.1, 3.5, 1.4, 0.2]
const MLP_ROW = Array.from({ length: 256 }, (_, i) => (i % 17) / 16)

type Metrics = Record<string, number>
/** section → row → one Metrics per round */
const results = new Map<Section, Map<string, Metrics[]>>()
let section: Section = 'sync'

function record(name: string, metrics: Metrics): void {
  const rows = results.get(section) ?? new Map<string, Metrics[]>()
  results.set(section, rows)
  const rounds = rows.get(name) ?? []
  rows.set(name, rounds)
  rounds.push(metrics)
}

const loadMetrics = (r: LoadResult): Metrics => ({
  'req/s': r.requests,
  'p50 µs': r.p50Us,
  'p99 µs': r.p99Us,
  errors: r.errors,
})

async function main() {
  const sections: [Section, () => Promise<void>][] = [
    ['sync', syncRound],
    ['jobs', jobsRound],
    ['v2', v2Round],
  ]
  for (const [name, round] of sections) {
    if (!only.has(name)) continue
    section = name
    for (let i = 1; i <= ROUNDS; i++) {
      console.error(`bench: ${name}, round ${i} of ${ROUNDS}`)
      await round()
    }
    out(`\n${name} (${ROUNDS} rounds${name === 'jobs' ? '' : `, ${SECONDS} s a row`}; median [min–max])`)
    out(table(results.get(name)!))
  }
  // the image section is long (a real detector) and its own figures are per row: one round
  if (only.has('images')) await benchImages()
  if (asJson) emit(JSON.stringify(summary(), null, 2))
}

async function syncRound() {
  const mlp = join(model('mlp'), '1', 'model.onnx')
  const iris = join(model('iris'), '1', 'model.onnx')
  const raw = {
    mlp1: await rawRowsPerSecond(mlp, 1, SECONDS * 250),
    mlp64: await rawRowsPerSecond(mlp, 64, SECONDS * 250),
    iris1: await rawRowsPerSecond(iris, 1, SECONDS * 250),
  }
  for (const [name, rate] of Object.entries(raw)) record(`raw onnx ${name}`, { 'rows/s': rate })

  const floor = Fastify()
  floor.post('/predict', async () => ({ predictions: [[1, 0, 0]] }))
  const floorUrl = await floor.listen({ port: 0, host: '127.0.0.1' })
  const floor64 = await load(`${floorUrl}/predict`, { instances: [IRIS_ROW] }, 64, SECONDS)
  record('fastify constant route c=64', loadMetrics(floor64))
  const floor1 = await load(`${floorUrl}/predict`, { instances: [IRIS_ROW] }, 1, SECONDS)
  record('fastify constant route c=1', loadMetrics(floor1))
  await floor.close()

  const c: Record<string, LoadResult> = {}
  // [row name, model path, batch override (undefined: as loaded), row, connections]
  const cases: [string, string, BatchPolicy | undefined, number[], number[]][] = [
    // `carafe serve iris.onnx`: a bare ONNX file, no carafe.yaml, so the defaults decide batching
    ['bare iris.onnx (defaults)', iris, undefined, IRIS_ROW, [64, 1]],
    ['examples/iris (its carafe.yaml)', model('iris'), undefined, IRIS_ROW, [64, 1]],
    ['iris batching off', model('iris'), { maxSize: 1, maxDelayMs: 0 }, IRIS_ROW, [64, 1]],
    ['mlp batching on', model('mlp'), { maxSize: 64, maxDelayMs: 2 }, MLP_ROW, [64, 1]],
    ['mlp batching off', model('mlp'), { maxSize: 1, maxDelayMs: 0 }, MLP_ROW, [64]],
  ]
  for (const [name, path, batch, row, connections] of cases) {
    const server = await serveModel(path, batch)
    for (const n of connections) {
      const key = `${name} c=${n}`
      c[key] = await load(`${server.url}/v1/models/${server.name}:predict`, { instances: [row] }, n, SECONDS)
      record(`carafe ${key}`, loadMetrics(c[key]))
    }
    await server.close()
  }

  const limit = Math.min(raw.mlp64, floor64.requests)
  const ratios: [string, number][] = [
    [
      'bare iris.onnx c=64 vs floor req/s (target ≥ 0.80)',
      c['bare iris.onnx (defaults) c=64'].requests / floor64.requests,
    ],
    [
      'examples/iris c=64 vs floor req/s (target ≥ 0.80)',
      c['examples/iris (its carafe.yaml) c=64'].requests / floor64.requests,
    ],
    ['examples/iris c=64 p99 µs (target < 10,000)', c['examples/iris (its carafe.yaml) c=64'].p99Us],
    ['iris batching off c=64 vs floor req/s', c['iris batching off c=64'].requests / floor64.requests],
    [
      'mlp c=64 batched vs min(raw b64 rows/s, floor req/s) (target ≥ 0.70)',
      c['mlp batching on c=64'].requests / limit,
    ],
    ['mlp c=64 batched vs Flask+gunicorn 2,147 req/s (target ≥ 4)', c['mlp batching on c=64'].requests / 2147],
    ['mlp c=64 batched vs unbatched', c['mlp batching on c=64'].requests / c['mlp batching off c=64'].requests],
    [
      'iris c=1 batching on (bare) vs off req/s (target ≥ 0.95)',
      c['bare iris.onnx (defaults) c=1'].requests / c['iris batching off c=1'].requests,
    ],
    [
      'iris c=1 (bare, batching on) p50 added over the floor, µs (target ≤ 150)',
      c['bare iris.onnx (defaults) c=1'].p50Us - floor1.p50Us,
    ],
    ['iris c=1 batching off p50 added over the floor, µs', c['iris batching off c=1'].p50Us - floor1.p50Us],
    [
      'iris c=1 (bare) p50 added over raw single inference, µs',
      c['bare iris.onnx (defaults) c=1'].p50Us - 1e6 / raw.iris1,
    ],
    ['mlp c=1 batching on p50 added over raw single inference, µs', c['mlp batching on c=1'].p50Us - 1e6 / raw.mlp1],
  ]
  for (const [name, value] of ratios) record(`= ${name}`, { value })
}

async function jobsRound() {
  await benchJobs(({ store, unsupported, ...figures }) => {
    if (unsupported) console.error(`bench: jobs, ${store}: NOT MEASURED: ${unsupported}`)
    record(`jobs ${store}`, unsupported ? {} : (figures as unknown as Metrics))
  })
}

async function v2Round() {
  const r = await benchV2(
    [
      ['iris', IRIS_ROW],
      ['mlp', MLP_ROW],
    ],
    model,
    SECONDS,
    (name, result) => {
      record(name, loadMetrics(result))
      return result
    },
  )
  const ratios: [string, number][] = [
    ['mlp c=64 V2 binary vs V2 JSON req/s', r['mlp c=64 v2 binary'].requests / r['mlp c=64 v2 json'].requests],
    ['mlp c=64 V2 JSON vs V1 req/s', r['mlp c=64 v2 json'].requests / r['mlp c=64 v1'].requests],
    ['mlp c=64 V2 binary vs V1 req/s', r['mlp c=64 v2 binary'].requests / r['mlp c=64 v1'].requests],
    ['iris c=64 V2 binary vs V2 JSON req/s', r['iris c=64 v2 binary'].requests / r['iris c=64 v2 json'].requests],
    ['iris c=64 V2 JSON vs V1 req/s', r['iris c=64 v2 json'].requests / r['iris c=64 v1'].requests],
  ]
  for (const [name, value] of ratios) record(`= ${name}`, { value })
}

function onlySections(argv: string[]): Set<string> {
  const at = argv.indexOf('--only')
  if (at < 0) return new Set(SECTIONS)
  const wanted = (argv[at + 1] ?? '').split(',').filter(Boolean)
  const unknown = wanted.filter((name) => !(SECTIONS as readonly string[]).includes(name))
  if (wanted.length === 0 || unknown.length > 0) {
    console.error(
      `bench: --only takes a comma-separated list of ${SECTIONS.join(', ')}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}`,
    )
    process.exit(2)
  }
  return new Set(wanted)
}

interface Spread {
  median: number
  min: number
  max: number
  values: number[]
}

function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  return { median, min: sorted[0], max: sorted[sorted.length - 1], values }
}

/** Every row's metrics as median/min/max over the rounds that measured them. */
function summarize(rounds: Metrics[]): Record<string, Spread> {
  const keys = [...new Set(rounds.flatMap((m) => Object.keys(m)))]
  return Object.fromEntries(
    keys.map((k) => [k, spread(rounds.map((m) => m[k]).filter((v): v is number => typeof v === 'number'))]),
  )
}

function summary() {
  return {
    rounds: ROUNDS,
    secondsPerRow: SECONDS,
    sections: Object.fromEntries(
      [...results].map(([name, rows]) => [
        name,
        Object.fromEntries([...rows].map(([row, rounds]) => [row, summarize(rounds)])),
      ]),
    ),
  }
}

const fmt = (x: number) =>
  Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en-US') : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2)

function table(rows: Map<string, Metrics[]>): string {
  const all = [...rows].map(([name, rounds]) => [name, summarize(rounds)] as const)
  const summaries = all.filter(([name]) => !name.startsWith('= '))
  const ratios = all.filter(([name]) => name.startsWith('= ')).map(([name, s]) => `${name.slice(2)}: ${show(s.value)}`)
  const columns = [...new Set(summaries.flatMap(([, s]) => Object.keys(s)))]
  const cells = [['row', ...columns], ...summaries.map(([name, s]) => [name, ...columns.map((k) => show(s[k]))])]
  const widths = cells[0].map((_, i) => Math.max(...cells.map((row) => row[i].length)))
  return cells
    .map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '))
    .join('\n')
    .concat(ratios.length ? `\n\n${ratios.join('\n')}` : '')
}

function show(s: Spread | undefined): string {
  if (!s || s.values.length === 0) return ''
  return s.values.length === 1 ? fmt(s.median) : `${fmt(s.median)} [${fmt(s.min)}–${fmt(s.max)}]`
}

await main()
