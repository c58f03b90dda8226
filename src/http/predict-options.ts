import type { FastifyReply, FastifyRequest } from 'fastify'
import { CarafeError } from '../errors.js'
import { ClientHangUp } from './client-hang-up.js'
import type { PredictOptions } from '../serving/index.js'

export const TIMEOUT_HEADER = 'x-carafe-timeout-ms'

/** The request's deadline (a client may ask for less than the server's) and a signal fired when it hangs up. */
export function predictOptionsFor(request: FastifyRequest, reply: FastifyReply): PredictOptions {
  return { timeoutMs: timeoutFromHeader(request.headers[TIMEOUT_HEADER]), signal: new ClientHangUp(reply.raw) }
}

function timeoutFromHeader(raw: string | string[] | undefined): number | undefined {
  if (raw === undefined) return undefined
  const value = Number(raw)
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || value < 1) {
    throw new CarafeError('INVALID_INPUT', `${TIMEOUT_HEADER} must be a positive whole number of milliseconds`, [
      { header: TIMEOUT_HEADER },
    ])
  }
  return value
}
