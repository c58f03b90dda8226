import { join } from 'node:path'
import Fastify from 'fastify'
import { pino } from 'pino'
import { loadConfig } from '../src/config/index.js'
import { createCarafe, loadAll } from '../src/http/index.js'
import { load, type LoadResult } from './load.js'
import { rawRowsPerSecond } from './raw-onnx.js'
import { benchImages } from './images.js'
import { benchJobs } from './jobs.js'
import { benchV2 } from './v2.js'

// `npm run bench`: physical limit, HTTP floor and Carafe side by side in one run (figures move between runs; ratios don't as much).
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8)
// `npm run bench -- --only sync` runs the raw, floor and Carafe sections; jobs, images and v2 (V1 beside V2 JSON and
// binary) are the others.
const SECTIONS = ['sync', 'jobs', 'images', 'v2'] as const
const only = onlySections(process.argv.slice(2))
const ROOT = process.cwd()
const model = (name: string) => join(ROOT, 'examples', name)
const IRIS_ROW = [5.1, 3.5, 1.4, 0.2]
const MLP_ROW = Array.from({ length: 256 }, (_, i) => (i % 17) / 16)

const rows: string[][] = [['section', 'req/s', 'rows/s', 'p50 ms', 'p99 ms', 'errors']]
const fmt = (x: number) => (x >= 100 ? Math.round(x).toString() : x.toFixed(2))

async function main() {
  if (only.has('sync')) await benchSync()
  if (only.has('jobs')) await benchJobs()
  if (only.has('images')) await benchImages()
  if (only.has('v2')) await benchV2Section()
}

async function benchV2Section() {
  const start = rows.length
  const r = await benchV2(
    [
      ['iris', IRIS_ROW],
      ['mlp', MLP_ROW],
    ],
    model,
    SECONDS,
    (name, result) => record(name, result, 1),
  )
  console.log(table([rows[0], ...rows.slice(start)]))
  const ratios = [
    ['mlp c=64 V2 binary vs V2 JSON req/s', r['mlp c=64 v2 binary'].requests / r['mlp c=64 v2 json'].requests],
    ['mlp c=64 V2 JSON vs V1 req/s', r['mlp c=64 v2 json'].requests / r['mlp c=64 v1'].requests],
    ['iris c=64 V2 binary vs V2 JSON req/s', r['iris c=64 v2 binary'].requests / r['iris c=64 v2 json'].requests],
    ['iris c=64 V2 JSON vs V1 req/s', r['iris c=64 v2 json'].requests / r['iris c=64 v1'].requests],
  ] as const
  for (const [name, value] of ratios) console.log(`${name}: ${value.toFixed(2)}`)
}

function onlySections(args: string[]): Set<string> {
  const at = args.indexOf('--only')
  if (at < 0) return new Set(SECTIONS)
  const wanted = (args[at + 1] ?? '').split(',').filter(Boolean)
  const unknown = wanted.filter((name) => !(SECTIONS as readonly string[]).includes(name))
  if (wanted.length === 0 || unknown.length > 0) {
    console.error(
      `bench: --only takes a comma-separated list of ${SECTIONS.join(', ')}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}`,
    )
    process.exit(2)
  }
  return new Set(wanted)
}

async function benchSync() {
  const raw = {
    mlp1: await rawRowsPerSecond(join(model('mlp'), '1', 'model.onnx'), 1, SECONDS * 500),
    mlp64: await rawRowsPerSecond(join(model('mlp'), '1', 'model.onnx'), 64, SECONDS * 500),
    mlp64t1: await rawRowsPerSecond(join(model('mlp'), '1', 'model.onnx'), 64, SECONDS * 500, 1),
    mlp64t2: await rawRowsPerSecond(join(model('mlp'), '1', 'model.onnx'), 64, SECONDS * 500, 2),
    iris1: await rawRowsPerSecond(join(model('iris'), '1', 'model.onnx'), 1, SECONDS * 500),
  }
  for (const [name, rate] of Object.entries(raw)) rows.push([`raw onnx ${name}`, '', fmt(rate), '', '', ''])
  const rawMlp1LatencyMs = 1000 / raw.mlp1
  const rawIris1LatencyMs = 1000 / raw.iris1

  const floor = Fastify()
  floor.post('/predict', async () => ({ predictions: [[1, 0, 0]] }))
  const floorUrl = await floor.listen({ port: 0, host: '127.0.0.1' })
  const floor64 = record(
    'fastify constant route c=64',
    await load(`${floorUrl}/predict`, { instances: [IRIS_ROW] }, 64, SECONDS),
    1,
  )
  record('fastify constant route c=1', await load(`${floorUrl}/predict`, { instances: [IRIS_ROW] }, 1, SECONDS), 1)
  await floor.close()

  const carafe: Record<string, LoadResult> = {}
  for (const [name, row] of [
    ['iris', IRIS_ROW],
    ['mlp', MLP_ROW],
  ] as const) {
    for (const batching of [false, true]) {
      const [descriptor] = await loadAll([model(name)])
      descriptor.batch = batching ? { maxSize: 64, maxDelayMs: 2 } : { maxSize: 1, maxDelayMs: 0 }
      const server = await createCarafe({
        descriptors: [descriptor],
        config: loadConfig({ flags: { port: 0 } }),
        logger: pino({ level: 'silent' }),
      })
      const url = await server.listen()
      await server.started
      for (const c of [1, 64]) {
        const key = `${name} c=${c} batching ${batching ? 'on' : 'off'}`
        carafe[key] = record(
          `carafe ${key}`,
          await load(`${url}/v1/models/${name}:predict`, { instances: [row] }, c, SECONDS),
          1,
        )
      }
      await server.close()
    }
  }

  console.log(table(rows))
  const limit = Math.min(raw.mlp64, floor64.requests)
  const ratios = [
    // iris as served by `npm start`: its carafe.yaml turns batching on
    [
      `iris c=64 (batching on, the example's default) vs HTTP floor req/s (target ≥ 0.80)`,
      carafe['iris c=64 batching on'].requests / floor64.requests,
    ],
    [`iris c=64 (batching on) p99 ms (target < 10)`, carafe['iris c=64 batching on'].p99],
    [`iris c=64 batching off vs HTTP floor req/s`, carafe['iris c=64 batching off'].requests / floor64.requests],
    [
      `mlp c=64 batched vs min(raw b64 rows/s, floor req/s) (target ≥ 0.70)`,
      carafe['mlp c=64 batching on'].requests / limit,
    ],
    [
      `mlp c=64 batched vs unbatched (target ≥ 3)`,
      carafe['mlp c=64 batching on'].requests / carafe['mlp c=64 batching off'].requests,
    ],
    [
      `iris c=1 p50 added over raw single inference, ms (target < 0.3)`,
      carafe['iris c=1 batching off'].p50 - rawIris1LatencyMs,
    ],
    [
      `mlp c=1 p50 added over raw single inference, ms (target < 0.3)`,
      carafe['mlp c=1 batching off'].p50 - rawMlp1LatencyMs,
    ],
    [`raw mlp b64 rows/s, 2 intra-op threads vs 1`, raw.mlp64t2 / raw.mlp64t1],
  ] as const
  for (const [name, value] of ratios) console.log(`${name}: ${value.toFixed(2)}`)
}

function record(name: string, r: LoadResult, rowsPerRequest: number): LoadResult {
  rows.push([name, fmt(r.requests), fmt(r.requests * rowsPerRequest), fmt(r.p50), fmt(r.p99), String(r.errors)])
  return r
}

function table(cells: string[][]): string {
  const widths = cells[0].map((_, i) => Math.max(...cells.map((row) => row[i].length)))
  return cells
    .map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '))
    .join('\n')
}

await main()
