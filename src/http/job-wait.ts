import type { FastifyReply } from 'fastify'
import { CarafeError } from '../errors.js'

/** The longest a request may hold its connection waiting for a job; longer jobs are for SSE or polling. */
export const MAX_WAIT_S = 60

/**
 * Seconds to wait from `Prefer: wait=N` (RFC 7240), capped at MAX_WAIT_S; undefined without one. A preference the
 * server cannot use is ignored, not refused, as RFC 7240 section 2 asks: `wait=soon` submits as if it were absent.
 */
export function preferredWait(header: string | string[] | undefined): number | undefined {
  for (const line of Array.isArray(header) ? header : header ? [header] : []) {
    for (const preference of line.split(',')) {
      const [token = '', value = ''] = preference
        .split(';')[0]
        .split('=', 2)
        .map((part) => part.trim())
      const seconds = value.replace(/^"(.*)"$/, '$1')
      if (token.toLowerCase() === 'wait' && /^\d{1,9}$/.test(seconds)) return Math.min(Number(seconds), MAX_WAIT_S)
    }
  }
  return undefined
}

/** Seconds from the long poll's `?wait=N`: our own parameter, so a bad value is a 400, not ignored. */
export function queryWait(query: unknown): number | undefined {
  const value = (query as { wait?: unknown } | undefined)?.wait
  if (value === undefined) return undefined
  if (typeof value === 'string' && /^\d{1,2}$/.test(value) && Number(value) <= MAX_WAIT_S) return Number(value)
  throw new CarafeError(
    'INVALID_WAIT',
    `wait must be a whole number of seconds from 0 to ${MAX_WAIT_S} (got ${JSON.stringify(value)})`,
    [{ query: 'wait' }],
  )
}

/** A signal that fires when the client goes away before its answer, or when the server starts closing. */
export function untilHangUpOrClose(reply: FastifyReply, closing: AbortSignal): AbortSignal {
  const controller = new AbortController()
  const abort = () => controller.abort()
  if (closing.aborted) abort()
  closing.addEventListener('abort', abort, { once: true })
  reply.raw.once('close', () => {
    closing.removeEventListener('abort', abort)
    if (!reply.raw.writableFinished) abort()
  })
  return controller.signal
}
