/** The one table of error codes. HTTP status is chosen from here at the edge (http/errors.ts); nothing below http knows HTTP. */
export const ERRORS = {
  INVALID_INPUT: { status: 400, message: 'The input does not match the model schema' },
  MALFORMED_JSON: { status: 400, message: 'The request body is not valid JSON' },
  NESTING_TOO_DEEP: { status: 400, message: 'The JSON body nests arrays and objects deeper than the limit' },
  TOO_MANY_INSTANCES: { status: 400, message: 'The request carries more instances than the limit' },
  INVALID_IMAGE: { status: 400, message: 'The image could not be decoded' },
  WEBHOOK_NOT_ALLOWED: { status: 400, message: 'The webhook URL is not allowed by the server config (webhookHosts)' },
  BAD_REQUEST: { status: 400, message: 'The request is not valid HTTP/1.1' },
  BAD_URL: { status: 400, message: 'The URL is not valid (bad percent-encoding)' },
  INVALID_WAIT: { status: 400, message: 'wait must be a whole number of seconds from 0 to 60' },
  UNAUTHORIZED: { status: 401, message: 'A valid API key is required (Authorization: Bearer <key> or X-Api-Token)' },
  MODEL_NOT_FOUND: { status: 404, message: 'No model with that name is served' },
  JOB_NOT_FOUND: { status: 404, message: 'No job with that id' },
  VERSION_NOT_FOUND: { status: 404, message: 'The model is not served at that version' },
  MODEL_LOAD_FAILED: {
    status: 422,
    message: 'The model could not be loaded; the versions already served keep serving',
  },
  MEMORY_BUDGET_EXCEEDED: {
    status: 507,
    message: 'Loading this model would pass the server memoryBudgetMb; unload a version first or raise the budget',
  },
  NOT_FOUND: { status: 404, message: 'No route matches this path' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'This path does not accept that method' },
  IDEMPOTENCY_CONFLICT: { status: 409, message: 'That Idempotency-Key was used with a different body' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is larger than the limit' },
  IMAGE_TOO_LARGE: { status: 413, message: 'The image is larger than the byte or pixel limit' },
  URL_TOO_LONG: { status: 414, message: 'A path segment is longer than the limit' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Send JSON with content-type application/json' },
  UNSUPPORTED_IMAGE_FORMAT: { status: 415, message: 'The image format is not one this model accepts' },
  REQUEST_TIMEOUT: { status: 408, message: 'The request did not arrive in time' },
  HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are larger than the limit' },
  RATE_LIMITED: { status: 429, message: 'Too many requests; retry later' },
  PREDICTION_FAILED: { status: 500, message: 'The model failed on this input' },
  JOB_ATTEMPTS_EXCEEDED: {
    status: 500,
    message: 'The job was running each time the server stopped, jobMaxAttempts times; it is not run again',
  },
  INTERNAL: { status: 500, message: 'Internal server error' },
  NOT_READY: { status: 503, message: 'Models are still loading' },
  OVERLOADED: { status: 503, message: 'The model queue is full; retry later' },
  RUNNER_CRASHED: {
    status: 503,
    message: 'The model runner stopped while handling this request; it is being restarted',
  },
  SHUTTING_DOWN: { status: 503, message: 'The server is shutting down' },
  JOBS_UNAVAILABLE: { status: 503, message: 'The job store (Redis) cannot be reached; retry later' },
  JOBS_OVERLOADED: { status: 503, message: 'Too many jobs are waiting to run; retry later' },
  DEADLINE_EXCEEDED: { status: 504, message: 'The prediction did not finish in time' },
} as const satisfies Record<string, { status: number; message: string }>

export type ErrorCode = keyof typeof ERRORS

export class CarafeError extends Error {
  readonly code: ErrorCode
  readonly details?: unknown[]
  /** Seconds a client should wait before retrying (OVERLOADED, RATE_LIMITED). */
  readonly retryAfter?: number

  constructor(code: ErrorCode, message: string = ERRORS[code].message, details?: unknown[], retryAfter?: number) {
    super(message)
    this.name = 'CarafeError'
    this.code = code
    this.details = details
    this.retryAfter = retryAfter
  }
}

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERRORS, code)
}
