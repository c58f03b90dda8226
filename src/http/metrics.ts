import type { FastifyInstance } from 'fastify'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { ModelRegistry } from '../serving/index.js'

// 0.5 ms to 30 s: sub-millisecond ONNX models up to multi-second pipelines
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/** A per-app Registry (several apps share one test process) with request metrics and model gauges read at scrape time. */
export function createMetrics(models: ModelRegistry) {
  const register = new Registry()
  collectDefaultMetrics({ register, prefix: 'carafe_' })
  const requests = new Counter({ name: 'carafe_requests_total', help: 'HTTP requests by model, route and status', labelNames: ['model', 'route', 'status'], registers: [register] })
  const duration = new Histogram({ name: 'carafe_request_duration_seconds', help: 'HTTP request duration', labelNames: ['model', 'route'], buckets: BUCKETS, registers: [register] })
  const perModel = (name: string, help: string, read: (stats: ReturnType<ReturnType<ModelRegistry['list']>[number]['describe']>['stats']) => number) =>
    new Gauge({ name, help, labelNames: ['model'], registers: [register], collect() {
      for (const model of models.list()) this.set({ model: model.name }, read(model.describe().stats))
    } })
  perModel('carafe_queue_depth', 'Requests waiting in the model queue', (s) => s.queueDepth)
  perModel('carafe_runner_restarts', 'Times the model runner was restarted', (s) => s.restarts)
  perModel('carafe_batches', 'Batches run since start', (s) => s.batches)
  perModel('carafe_batch_rows', 'Rows (instances) run since start', (s) => s.rows)

  return {
    register,
    observe(model: string | undefined, route: string, status: number, seconds: number) {
      requests.inc({ model: model ?? '', route, status: String(status) })
      duration.observe({ model: model ?? '', route }, seconds)
    },
  }
}

/** GET /metrics in Prometheus text format. */
export function metricsRoute(app: FastifyInstance, metrics: ReturnType<typeof createMetrics>): void {
  app.get('/metrics', async (_request, reply) => reply.type(metrics.register.contentType).send(await metrics.register.metrics()))
}
