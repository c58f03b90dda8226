import assert from 'node:assert/strict'
import { it } from 'node:test'
import { Counter, Histogram, Registry } from 'prom-client'
import { createMetrics } from '../../src/http/metrics.js'
import type { ModelRegistry } from '../../src/serving/index.js'

// the buckets Carafe's request and queue-wait histograms use
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

// the request series are counted by Carafe and handed to prom-client at scrape time: /metrics must read exactly as
// prom-client's own Counter and Histogram fed the same requests would
it('request counts, durations and queue waits read in /metrics exactly as prom-client would write them', async () => {
  type Listener = (rows: number, items: number, runMs: number, waitsMs: number[]) => void
  const batchListeners: Listener[] = []
  const served = new Set(['iris', 'mlp'])
  const models = {
    has: (name: string) => served.has(name),
    list: () => [],
    all: () => [],
    // two versions of iris start taking traffic: each version's batches feed its own series
    onAdded: (added: (model: unknown) => void) => {
      for (let v = 1; v <= 2; v++)
        added({
          name: 'iris',
          descriptor: { version: String(v) },
          stats: { subscribe: (fn: Listener) => batchListeners.push(fn) },
        })
    },
    onRemoved: () => undefined,
    loadErrorCounts: () => new Map(),
  } as unknown as ModelRegistry
  const metrics = createMetrics(models)
  const reference = new Registry()
  const requests = new Counter({
    name: 'carafe_requests_total',
    help: 'HTTP requests by model, route and status',
    labelNames: ['model', 'route', 'status'],
    registers: [reference],
  })
  const duration = new Histogram({
    name: 'carafe_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['model', 'route'],
    buckets: BUCKETS,
    registers: [reference],
  })
  const seen: [string | undefined, string, number, number][] = [
    ['iris', '/v1/models/:name(^[^:/]+)::predict', 200, 0.0004],
    ['iris', '/v1/models/:name(^[^:/]+)::predict', 200, 0.0005], // on a bound: counted in it (le)
    ['iris', '/v1/models/:name(^[^:/]+)::predict', 400, 0.003],
    ['mlp', '/v1/models/:name(^[^:/]+)::predict', 200, 0.02],
    ['nope', '/v1/models/:name(^[^:/]+)::predict', 404, 0.0001],
    [undefined, '/healthz', 200, 45], // past the last bound: only +Inf
  ]
  for (const [model, route, status, seconds] of seen) {
    metrics.observe(model, route, status, seconds)
    const labels = {
      model: model === undefined ? '' : served.has(model) ? model : '_unknown',
      route: route.replace(/(:\w+)\((?:\\.|[^)])*\)/g, '$1').replaceAll('::', ':'),
    }
    requests.inc({ ...labels, status: String(status) })
    duration.observe(labels, seconds)
  }
  const queueWait = new Histogram({
    name: 'carafe_queue_wait_seconds',
    help: 'Time an item waited in the model queue before its batch ran',
    labelNames: ['model', 'version'],
    buckets: BUCKETS,
    registers: [reference],
  })
  for (const [k, waitsMs] of [[0.2, 1, 3], [0.5], [40_000, 7]].entries()) {
    batchListeners[k % 2](waitsMs.length, waitsMs.length, 1, waitsMs)
    for (const wait of waitsMs) queueWait.observe({ model: 'iris', version: String((k % 2) + 1) }, wait / 1000)
  }
  const ours = (await metrics.register.metrics())
    .split('\n')
    .filter((line) => /carafe_request|carafe_queue_wait/.test(line))
  const theirs = (await reference.metrics()).split('\n').filter((line) => /carafe_request|carafe_queue_wait/.test(line))
  assert.ok(ours.length > 0)
  assert.deepEqual([...ours].sort(), [...theirs].sort())
  const json = await metrics.register.getMetricsAsJSON()
  assert.deepEqual(
    json.find((m) => m.name === 'carafe_request_duration_seconds'),
    await duration.get(),
  )
  assert.deepEqual(
    json.find((m) => m.name === 'carafe_queue_wait_seconds'),
    await queueWait.get(),
  )
})
