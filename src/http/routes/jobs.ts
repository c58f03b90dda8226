import { createHash } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { CarafeError } from '../../errors.js'
import { checkWebhook, isFinal, jobView, waitForJob, type JobRecord } from '../../jobs/index.js'
import { preferredWait, queryWait, untilHangUpOrClose } from '../job-wait.js'
import { keyFrom } from '../auth.js'
import type { AppDeps } from '../deps.js'
import { decodeV1 } from '../protocols/kserve-v1.js'
import { jobEventsRoute } from './job-events.js'
import { MODEL_NAME, VERSION_NAME } from './v1.js'

const JobRequest = Type.Object({
  instances: Type.Array(Type.Unknown(), { minItems: 1 }),
  webhook: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
})
const JobParams = Type.Object({ id: Type.String() })
// the format both stores generate (randomUUID): anything else is no job of ours and never reaches a store key
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Background jobs: submit (validated now, run later), poll or wait, stream their events, cancel. */
export async function jobRoutes(app: FastifyInstance, { config, registry, jobs }: AppDeps): Promise<void> {
  // requests waiting on a job (Prefer: wait, ?wait=, event streams) answer at once when the server starts closing
  const closing = new AbortController()
  setMaxListeners(0, closing.signal) // one listener per waiting request, by design: no leak warning past 10
  app.addHook('preClose', async () => closing.abort())

  const submit = async (
    request: FastifyRequest<{
      Params: { name: string; version?: string }
      Body: { instances: unknown[]; webhook?: string }
    }>,
    reply: FastifyReply,
  ) => {
    const version = request.params.version
    const model = registry.get(request.params.name, version)
    const instances = decodeV1(request.body, config.maxInstances)
    model.validate(instances)
    if (request.body.webhook !== undefined)
      checkWebhook(request.body.webhook, config.webhookHosts, config.webhookSecret)
    admitJob(config.maxJobQueue, jobs)
    const key = request.headers['idempotency-key']
    if (Array.isArray(key) || (key !== undefined && (key.length === 0 || key.length > 256))) {
      throw new CarafeError('INVALID_INPUT', 'Idempotency-Key must be one header of 1 to 256 characters', [
        { header: 'idempotency-key' },
      ])
    }
    const job = await jobs.submit({
      model: model.name,
      // a job sent to a version runs on that version (VERSION_NOT_FOUND if it is unloaded before it runs)
      ...(version !== undefined ? { version } : {}),
      instances,
      webhook: request.body.webhook,
      idempotencyKey: key === undefined ? undefined : `${model.name}:${keyScope(request)}:${key}`,
      bodyHash:
        key === undefined ? undefined : createHash('sha256').update(JSON.stringify(request.body)).digest('base64url'),
    })
    reply.header('location', `/v1/jobs/${job.id}`)
    const wait = preferredWait(request.headers.prefer)
    if (wait === undefined) return reply.code(202).send(created(job))
    reply.header('preference-applied', `wait=${wait}`)
    const now = await waitForJob(jobs, job.id, {
      timeoutMs: wait * 1000,
      signal: untilHangUpOrClose(reply, closing.signal),
    })
    // finished in time: 201 with the whole job, as Replicate's Prefer: wait does; otherwise 202 as without it
    if (now && isFinal(now.status)) return reply.code(201).send(jobView(now))
    return reply.code(202).send(created(now ?? job))
  }
  app.post(`/v1/models/${MODEL_NAME}/jobs`, { schema: { body: JobRequest } }, submit)
  app.post(`/v1/models/${MODEL_NAME}/versions/${VERSION_NAME}/jobs`, { schema: { body: JobRequest } }, submit)

  app.get<{ Params: { id: string } }>('/v1/jobs/:id', { schema: { params: JobParams } }, async (request, reply) => {
    const wait = queryWait(request.query)
    if (!wait) return jobView(await found(request.params.id))
    // long poll: the answer comes when the job is final, or after wait seconds with its state then
    const signal = untilHangUpOrClose(reply, closing.signal)
    const job = await waitForJob(jobs, request.params.id, { timeoutMs: wait * 1000, signal })
    if (!job) throw notFound(request.params.id)
    return jobView(job)
  })

  jobEventsRoute(app, jobs, { params: JobParams, closing: closing.signal, notFound })

  app.delete<{ Params: { id: string } }>('/v1/jobs/:id', { schema: { params: JobParams } }, async (request) => {
    if (!JOB_ID.test(request.params.id)) throw notFound(request.params.id)
    const job = await jobs.cancel(request.params.id)
    if (!job) throw notFound(request.params.id)
    return jobView(job)
  })

  async function found(id: string): Promise<JobRecord> {
    if (!JOB_ID.test(id)) throw notFound(id)
    const job = await jobs.get(id)
    if (!job) throw notFound(id)
    return job
  }
}

const created = (job: JobRecord) => ({ id: job.id, status: job.status, links: { self: `/v1/jobs/${job.id}` } })

// A job backlog drains in minutes, not milliseconds: a client told to come back in 1 s would only be refused again
const JOBS_RETRY_AFTER_S = 10

/** Admission for background jobs happens here, at submit: once accepted, a job waits its turn and is never refused. */
function admitJob(maxJobQueue: number, jobs: AppDeps['jobs']): void {
  const waiting = jobs.backlog()
  if (waiting >= maxJobQueue)
    throw new CarafeError(
      'JOBS_OVERLOADED',
      `${waiting} jobs are waiting to run (maxJobQueue is ${maxJobQueue}); retry later`,
      undefined,
      JOBS_RETRY_AFTER_S,
    )
}

const notFound = (id: string) =>
  new CarafeError(
    'JOB_NOT_FOUND',
    `No job with id "${id.slice(0, 64)}"; finished jobs are removed after their retention`,
  )

/** Idempotency keys are per API key: another key holder reusing one gets a job of their own, never this one. */
function keyScope(request: FastifyRequest & { apiKeyName?: string }): string {
  const given = request.apiKeyName === undefined ? undefined : keyFrom(request)
  return given === undefined ? '' : createHash('sha256').update(given).digest('base64url').slice(0, 22)
}
