// The background-jobs wire shapes, described once for the OpenAPI document and the job routes' replies.
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
