// The background-jobs wire shapes, described once for the OpenAPI document and the job routes' replies, with the ways
// to wait on a job (Prefer: wait, ?wait=, /events).
export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'canceled'] as const

export const JobCreated = {
  type: 'object',
  required: ['id', 'status', 'links'],
  properties: {
    id: { type: 'string' },
    status: { type: 'string', enum: [...JOB_STATES] },
    links: { type: 'object', additionalProperties: { type: 'string' } },
  },
}

export function jobStatusSchema(errorRef: string) {
  return {
    type: 'object',
    required: ['id', 'status'],
    properties: {
      id: { type: 'string' },
      status: { type: 'string', enum: [...JOB_STATES] },
      progress: { type: 'number', minimum: 0, maximum: 1 },
      result: { description: 'the predict response body, once succeeded' },
      error: { $ref: `${errorRef}/properties/error` },
    },
  }
}

/** `Prefer: wait=N` on submit (RFC 7240): the submit answers when the job is final, or after N seconds. */
export const preferWaitParameter = {
  name: 'Prefer',
  in: 'header',
  required: false,
  schema: { type: 'string', examples: ['wait=10'] },
  description:
    'wait=N: hold the answer up to N seconds (at most 60): 201 with the finished job when it finishes in time, else 202. An unusable value is ignored; Preference-Applied echoes the wait used.',
}

/** `?wait=N` on GET /v1/jobs/{id}: the long poll. */
export const longPollParameter = {
  name: 'wait',
  in: 'query',
  required: false,
  schema: { type: 'integer', minimum: 0, maximum: 60 },
  description:
    'Long poll: answer as soon as the job is final, or after this many seconds with its state then (400 INVALID_WAIT otherwise)',
}

/** GET /v1/jobs/{id}/events as OpenAPI can say it: a text/event-stream body. */
export const jobEventsResponse = {
  description:
    'Server-Sent Events: `progress` events (data: the job, while queued or running), then one `done` event (data: the final job with its result or error, id: done), then the stream ends. Reconnecting with Last-Event-ID: done answers 204.',
  content: { 'text/event-stream': { schema: { type: 'string' } } },
}
