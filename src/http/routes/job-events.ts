import { PassThrough } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { isFinal, jobChanges, jobView, type JobRecord, type JobStore } from '../../jobs/index.js'
import { untilHangUpOrClose } from '../job-wait.js'

const KEEP_ALIVE_MS = 15_000 // a comment line this often, so proxies do not close a quiet stream
const FINAL_EVENT_ID = 'done'

/** One SSE event: `progress` while the job waits or runs, `done` (the final job, with result or error) at the end. */
function sseEvent(job: JobRecord): string {
  const data = JSON.stringify(jobView(job))
  return isFinal(job.status)
    ? `event: done\nid: ${FINAL_EVENT_ID}\ndata: ${data}\n\n`
    : `event: progress\ndata: ${data}\n\n`
}

/**
 * GET /v1/jobs/{id}/events: the job's state now, then each change, as Server-Sent Events; the stream ends after the
 * final state. A client hang-up or the server closing ends it too.
 */
export function jobEventsRoute(
  app: FastifyInstance,
  jobs: JobStore,
  { params, closing, notFound }: { params: object; closing: AbortSignal; notFound: (id: string) => Error },
): void {
  app.get<{ Params: { id: string } }>('/v1/jobs/:id/events', { schema: { params } }, async (request, reply) => {
    const { id } = request.params
    // An EventSource reconnects whenever a stream ends; after the final event it comes back with that event's id,
    // and 204 is the answer that makes it stop (WHATWG HTML, server-sent events).
    if (request.headers['last-event-id'] === FINAL_EVENT_ID) return reply.code(204).send()
    const signal = untilHangUpOrClose(reply, closing)
    const changes = jobChanges(jobs, id, signal)
    const first = await changes.next()
    if (first.done) throw notFound(id)
    const out = new PassThrough()
    const keepAlive = setInterval(() => out.write(': keep-alive\n\n'), KEEP_ALIVE_MS).unref()
    void (async () => {
      try {
        out.write(sseEvent(first.value))
        for await (const job of changes) out.write(sseEvent(job))
      } catch (error) {
        request.log.warn({ err: error, job: id }, 'job event stream failed')
      } finally {
        clearInterval(keepAlive)
        // its headers said keep-alive before the shutdown began: the idle connection would then hold the server's close
        if (closing.aborted && request.raw.httpVersionMajor < 2)
          reply.raw.once('finish', () => request.raw.socket?.destroySoon())
        out.end()
      }
    })()
    return reply
      .type('text/event-stream; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('x-accel-buffering', 'no') // nginx would buffer the stream otherwise
      .send(out)
  })
}
