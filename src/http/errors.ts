import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { CarafeError, ERRORS, type ErrorCode } from '../errors.js'

/** Fastify's own codes, translated once. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'MALFORMED_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_VALIDATION: 'INVALID_INPUT',
  FST_ERR_BAD_URL: 'BAD_URL',
  FST_ERR_MAX_PARAM_LENGTH: 'URL_TOO_LONG',
  FST_ERR_ASYNC_CONSTRAINT: 'INVALID_INPUT',
}

const UNEXPECTED = new Set<ErrorCode>(['PREDICTION_FAILED', 'INTERNAL', 'RUNNER_CRASHED'])

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details: unknown[]; requestId: string }
}

/** Any thrown value → a CarafeError; what is not ours becomes a fixed message, never a stack. */
export function toCarafeError(error: unknown): CarafeError {
  if (error instanceof CarafeError) return error
  const fastify = error as Partial<FastifyError> & {
    validation?: { instancePath: string; message?: string; params?: unknown; keyword?: string }[]
    validationContext?: string
  }
  const code = fastify?.code ? FASTIFY_CODES[fastify.code] : undefined
  if (code === 'INVALID_INPUT' && fastify.validation) {
    const details = fastify.validation.map((v) => ({
      path: `/${fastify.validationContext ?? 'body'}${v.instancePath}`,
      message: v.message,
      ...instanceIndex(v.instancePath),
    }))
    return new CarafeError('INVALID_INPUT', `${details[0].path}: ${details[0].message}`, details)
  }
  if (code === 'MALFORMED_JSON') return new CarafeError(code, `${ERRORS.MALFORMED_JSON.message}: ${fastify.message}`)
  if (code) return new CarafeError(code)
  // Errors Fastify or a plugin raised with a 4xx status but no code of ours (say a bad header): keep the status class.
  if (typeof fastify?.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) {
    return new CarafeError(
      fastify.statusCode === 413
        ? 'PAYLOAD_TOO_LARGE'
        : fastify.statusCode === 415
          ? 'UNSUPPORTED_MEDIA_TYPE'
          : 'INVALID_INPUT',
      fastify.message,
    )
  }
  return new CarafeError('INTERNAL')
}

function instanceIndex(path: string): { instance?: number } {
  const match = /^\/instances\/(\d+)/.exec(path)
  return match ? { instance: Number(match[1]) } : {}
}

export function errorBody(error: CarafeError, requestId: string): ErrorBody {
  return { error: { code: error.code, message: error.message, details: error.details ?? [], requestId } }
}

/** The Open Inference Protocol's error object is `{"error": "<message>"}`; our code and request id ride beside it. */
export interface V2ErrorBody {
  error: string
  code: ErrorCode
  requestId: string
  details?: unknown[]
}

export function v2ErrorBody(error: CarafeError, requestId: string): V2ErrorBody {
  const details = error.details?.length ? { details: error.details } : {}
  return { error: error.message, code: error.code, requestId, ...details }
}

// A V2 route's template (any prefix before it), or for a request no route matched, its path.
const V2_TEMPLATE = /(^|\/)v2(\/|$)/
const V2_PATH = /^\/v2(\/|\?|$)/

/** Whether a request speaks the V2 protocol, so that its errors take the V2 shape. */
export function speaksV2(request: FastifyRequest): boolean {
  const template = request.routeOptions?.url
  return template ? V2_TEMPLATE.test(template) : V2_PATH.test(request.url)
}

/** The only place errors become HTTP responses. */
export function replyWithError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const carafe = toCarafeError(error)
  const status = ERRORS[carafe.code].status
  // A model or server fault is logged with its stack; a refusal (bad input, overload, not ready) is one line.
  if (UNEXPECTED.has(carafe.code))
    request.log.error({ err: error, cause: (error as Error)?.cause, code: carafe.code }, 'request failed')
  else request.log[status >= 500 ? 'warn' : 'info']({ code: carafe.code, message: carafe.message }, 'request refused')
  if (carafe.retryAfter !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(carafe.retryAfter))))
  const body = speaksV2(request) ? v2ErrorBody(carafe, request.id) : errorBody(carafe, request.id)
  return reply.code(status).type('application/json').send(body)
}
