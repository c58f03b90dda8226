import type { FastifyInstance } from 'fastify'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { JobStore } from '../jobs/index.js'
import type { ModelRegistry } from '../serving/index.js'

// 0.5 ms to 30 s: sub-millisecond ONNX models up to multi-second pipelines
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/** A per-app Registry (several apps share one test process) with request metrics and model gauges read at scrape time. */
export function createMetrics(models: ModelRegistry, jobs?: JobStore) {
  const register = new Registry()
  collectDefaultMetrics({ register, prefix: 'carafe_' })
  const requests = new RequestSeries(register, BUCKETS)
  // per version: a model serving several side by side has one series each (`version` is the folder number); the
  // series of a version that was unloaded go with it
  const perVersion = (
    name: string,
    help: string,
    read: (stats: ReturnType<ReturnType<ModelRegistry['all']>[number]['describe']>['stats']) => number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ['model', 'version'],
      registers: [register],
      collect() {
        this.reset()
        for (const m of models.all()) this.set(labelsOf(m), read(m.describe().stats))
      },
    })
  perVersion('carafe_queue_depth', 'Requests waiting in the model queue', (s) => s.queueDepth)
  perVersion('carafe_runner_restarts', 'Times the model runner was restarted', (s) => s.restarts)
  perVersion('carafe_batches', 'Batches run since start', (s) => s.batches)
  perVersion('carafe_batch_rows', 'Rows (instances) run since start', (s) => s.rows)
  // counted per instance by the prediction cache; only models with `cache` set have a series
  const cacheCounter = (name: string, help: string, read: (cache: { hits: number; misses: number }) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['model', 'version'],
      registers: [register],
      collect() {
        this.reset()
        for (const m of models.all()) {
          const cache = m.describe().stats.cache
          if (cache) this.inc(labelsOf(m), read(cache))
        }
      },
    })
  cacheCounter('carafe_cache_hits_total', 'Instances answered from the prediction cache', (c) => c.hits)
  cacheCounter(
    'carafe_cache_misses_total',
    'Instances the prediction cache did not hold, sent to the model',
    (c) => c.misses,
  )
  // observed once per request (each item of a batch): counted here, as the request series are
  const queueWait = new LocalHistogram(
    register,
    'carafe_queue_wait_seconds',
    'Time an item waited in the model queue before its batch ran',
    BUCKETS,
  )
  const inference = new Histogram({
    name: 'carafe_inference_duration_seconds',
    help: 'Time one batch took in the runner',
    labelNames: ['model', 'version'],
    buckets: BUCKETS,
    registers: [register],
  })
  const batchSize = new Histogram({
    name: 'carafe_batch_size',
    help: 'Rows per batch',
    labelNames: ['model', 'version'],
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096],
    registers: [register],
  })
  // every version that starts taking traffic, now or after a reload (a reload under the same number keeps its series)
  models.onAdded((model) => {
    const labels = labelsOf(model)
    const waits = queueWait.series(seriesKey(labels), labels)
    model.stats.subscribe((rows, _items, runMs, waitsMs) => {
      batchSize.observe(labels, rows)
      inference.observe(labels, runMs / 1000)
      for (const wait of waitsMs) queueWait.observe(waits, wait / 1000)
    })
  })
  models.onRemoved((model, version) => {
    for (const histogram of [batchSize, inference]) histogram.remove({ model, version })
    queueWait.remove(seriesKey({ model, version }))
  })
  new Counter({
    name: 'carafe_model_load_errors_total',
    help: 'Model loads that failed after start (a broken new version, a carafe.yaml that does not parse); the served versions kept serving',
    labelNames: ['model'],
    registers: [register],
    collect() {
      this.reset()
      for (const [model, count] of models.loadErrorCounts()) this.inc({ model }, count)
    },
  })
  new Gauge({
    name: 'carafe_model_memory_bytes',
    help: 'Process RSS growth measured over each served version’s load and warm-up (an approximation)',
    labelNames: ['model', 'version'],
    registers: [register],
    collect() {
      this.reset()
      for (const m of models.all()) this.set({ model: m.name, version: m.descriptor.version }, m.memoryMb * 2 ** 20)
    },
  })
  if (jobs) {
    new Gauge({
      name: 'carafe_jobs',
      help: 'Background jobs by model and status',
      labelNames: ['model', 'status'],
      registers: [register],
      collect() {
        for (const model of models.list()) {
          for (const [status, count] of Object.entries(jobs.stats(model.name).counts))
            this.set({ model: model.name, status }, count)
        }
      },
    })
    new Gauge({
      name: 'carafe_job_queue_depth',
      help: 'Background jobs waiting to run',
      labelNames: ['model'],
      registers: [register],
      collect() {
        for (const model of models.list()) this.set({ model: model.name }, jobs.stats(model.name).queueDepth)
      },
    })
  }

  // label values come from the served models and the route table only: a client's made-up names and paths would
  // grow /metrics (and every scrape's memory) for ever
  const routes = new Map<string, string>()
  const routeLabel = (route: string) => {
    let label = routes.get(route)
    if (label === undefined) {
      label = routeTemplate(route)
      routes.set(route, label)
    }
    return label
  }
  return {
    register,
    observe(model: string | undefined, route: string, status: number, seconds: number) {
      const modelLabel = model === undefined ? '' : models.has(model) ? model : UNKNOWN_MODEL
      requests.observe(modelLabel, routeLabel(route), status, seconds)
    },
  }
}

/** One labelled series of a LocalHistogram. */
interface HistogramSeries {
  labels: Record<string, string>
  /** observations per bucket (not cumulative), then one for past the last bound */
  buckets: Float64Array
  sum: number
  count: number
}

/**
 * A histogram counted here and read by prom-client's registry at scrape time, in the shape prom-client's own Histogram
 * hands it, so /metrics reads exactly as before. prom-client builds and hashes a label string on every `observe` (a
 * labelled child does the same); here the caller keeps its series, and an observation is a bucket search and three
 * additions.
 */
class LocalHistogram {
  readonly #series = new Map<string, HistogramSeries>()
  readonly #bounds: number[]

  constructor(register: Registry, name: string, help: string, bounds: number[]) {
    this.#bounds = bounds
    const values = () =>
      [...this.#series.values()].flatMap(({ labels, buckets, sum, count }) => {
        let cumulative = 0
        return [
          ...bounds.map((le, i) => {
            cumulative += buckets[i]
            return {
              labels: { le },
              sharedLabels: labels,
              value: cumulative,
              metricName: `${name}_bucket`,
              exemplar: null,
            }
          }),
          { labels: { le: '+Inf' }, sharedLabels: labels, value: count, metricName: `${name}_bucket`, exemplar: null },
          { labels: {}, sharedLabels: labels, value: sum, metricName: `${name}_sum`, exemplar: undefined },
          { labels: {}, sharedLabels: labels, value: count, metricName: `${name}_count`, exemplar: undefined },
        ]
      })
    const metric = {
      name,
      help,
      type: 'histogram',
      aggregator: 'sum',
      getForPromString: async () => ({ name, help, type: 'histogram', values: values(), aggregator: 'sum' }),
      get: async () => ({
        name,
        help,
        type: 'histogram',
        aggregator: 'sum',
        values: values().map(({ labels, sharedLabels, ...rest }) => ({
          ...rest,
          labels: { ...labels, ...sharedLabels },
        })),
      }),
      reset: () => this.#series.clear(),
    }
    register.registerMetric(metric as never)
  }

  /** The series of `labels`, named by `key` (one key per label set), created at its first use. */
  series(key: string, labels: Record<string, string>): HistogramSeries {
    let series = this.#series.get(key)
    if (series === undefined) {
      series = { labels, buckets: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 }
      this.#series.set(key, series)
    }
    return series
  }

  remove(key: string): void {
    this.#series.delete(key)
  }

  observe(series: HistogramSeries, value: number): void {
    let i = 0
    while (i < this.#bounds.length && value > this.#bounds[i]) i++
    series.buckets[i]++
    series.sum += value
    series.count++
  }
}

/**
 * `carafe_requests_total` and `carafe_request_duration_seconds`, counted here: prom-client's label hashing on every `inc`
 * and `observe` was ~1.5-2.5 µs of the main thread per request (measured in isolation), two map lookups here.
 */
class RequestSeries {
  readonly #series = new Map<string, Map<string, { statuses: Map<number, number>; duration: HistogramSeries }>>()
  readonly #duration: LocalHistogram

  constructor(register: Registry, bounds: number[]) {
    const all = () => [...this.#series.values()].flatMap((byRoute) => [...byRoute.values()])
    new Counter({
      name: 'carafe_requests_total',
      help: 'HTTP requests by model, route and status',
      labelNames: ['model', 'route', 'status'],
      registers: [register],
      collect() {
        this.reset()
        for (const { duration, statuses } of all())
          for (const [status, count] of statuses) this.inc({ ...duration.labels, status: String(status) }, count)
      },
    })
    this.#duration = new LocalHistogram(register, 'carafe_request_duration_seconds', 'HTTP request duration', bounds)
  }

  observe(model: string, route: string, status: number, seconds: number): void {
    let byRoute = this.#series.get(model)
    if (byRoute === undefined) {
      byRoute = new Map()
      this.#series.set(model, byRoute)
    }
    let series = byRoute.get(route)
    if (series === undefined) {
      series = { statuses: new Map(), duration: this.#duration.series(`${model}\0${route}`, { model, route }) }
      byRoute.set(route, series)
    }
    series.statuses.set(status, (series.statuses.get(status) ?? 0) + 1)
    this.#duration.observe(series.duration, seconds)
  }
}

const labelsOf = (m: { name: string; descriptor: { version: string } }) => ({
  model: m.name,
  version: m.descriptor.version,
})
const seriesKey = ({ model, version }: { model: string; version: string }) => `${model}\0${version}`

/** The `model` label of a request naming a model that is not served. */
export const UNKNOWN_MODEL = '_unknown'

/** A route as registered, without its parameter regexes and with `::` unescaped: `/v1/models/:name:predict`. */
export function routeTemplate(route: string): string {
  return route.replace(/(:\w+)\((?:\\.|[^)])*\)/g, '$1').replaceAll('::', ':')
}

/** GET /metrics in Prometheus text format. */
export function metricsRoute(app: FastifyInstance, metrics: ReturnType<typeof createMetrics>): void {
  app.get('/metrics', async (_request, reply) =>
    reply.type(metrics.register.contentType).send(await metrics.register.metrics()),
  )
}
