import type { ModelDescriptor } from '../../model/index.js'
import { preferWaitParameter } from './job-schemas.js'

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
export const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: ref('ErrorEnvelope') } },
})

/** Component names allow [A-Za-z0-9._-] only (OpenAPI 3.1 §4.8.7.1). */
export const componentName = (model: string, suffix: string) => `${model.replace(/[^A-Za-z0-9._-]/g, '_')}.${suffix}`

/** The request and response schemas of one model: instances of its input schema in, its output schema out. */
export function modelSchemas(d: ModelDescriptor, maxInstances: number): Record<string, unknown> {
  return {
    [componentName(d.name, 'Instance')]: d.input,
    [componentName(d.name, 'Prediction')]: d.output ?? {},
    [componentName(d.name, 'PredictRequest')]: {
      type: 'object',
      required: ['instances'],
      properties: {
        instances: {
          type: 'array',
          minItems: 1,
          maxItems: maxInstances,
          items: ref(componentName(d.name, 'Instance')),
        },
      },
    },
    [componentName(d.name, 'PredictResponse')]: {
      type: 'object',
      required: ['predictions'],
      properties: { predictions: { type: 'array', items: ref(componentName(d.name, 'Prediction')) } },
    },
  }
}

function requestBody(d: ModelDescriptor) {
  const examples = Object.fromEntries(
    d.examples.map((example, i) => [
      `example${i + 1}`,
      { summary: `carafe.yaml example ${i + 1}`, value: { instances: [example] } },
    ]),
  )
  return {
    required: true,
    content: {
      'application/json': {
        schema: ref(componentName(d.name, 'PredictRequest')),
        ...(d.examples.length > 0 ? { examples } : {}),
      },
    },
  }
}

/** POST /v1/models/{name}:predict and POST /v1/models/{name}/jobs for one model. */
export function modelPaths(d: ModelDescriptor): Record<string, unknown> {
  const tag = [d.name]
  const refusals = {
    400: errorResponse(
      'The input does not match the model schema (code INVALID_INPUT, details name the instance and path)',
    ),
    503: errorResponse('The model is loading or its queue is full (NOT_READY, OVERLOADED)'),
  }
  const id = d.name.replace(/[^A-Za-z0-9_]/g, '_')
  const unknownVersion = { 404: errorResponse('That version is not served (VERSION_NOT_FOUND)') }
  return {
    [`/v1/models/${d.name}/versions/${d.version}:predict`]: {
      post: {
        operationId: `predictVersion_${id}`,
        // the version these schemas describe; other served versions answer at /versions/{v} alike
        summary: `Predict with ${d.name} version ${d.version}`,
        tags: tag,
        requestBody: requestBody(d),
        responses: {
          200: {
            description: 'One prediction per instance, in order',
            content: { 'application/json': { schema: ref(componentName(d.name, 'PredictResponse')) } },
          },
          ...refusals,
          ...unknownVersion,
        },
      },
    },
    [`/v1/models/${d.name}/versions/${d.version}/jobs`]: {
      post: {
        operationId: `submitJobVersion_${id}`,
        summary: `Run ${d.name} version ${d.version} as a background job (the job runs on that version)`,
        tags: tag,
        parameters: [preferWaitParameter],
        requestBody: requestBody(d),
        responses: {
          202: {
            description: 'Accepted',
            content: { 'application/json': { schema: ref('JobCreated') } },
          },
          ...refusals,
          ...unknownVersion,
        },
      },
    },
    [`/v1/models/${d.name}:predict`]: {
      post: {
        operationId: `predict_${d.name.replace(/[^A-Za-z0-9_]/g, '_')}`,
        summary: `Predict with ${d.name}`,
        description: d.description,
        tags: tag,
        requestBody: requestBody(d),
        responses: {
          200: {
            description: 'One prediction per instance, in order',
            content: { 'application/json': { schema: ref(componentName(d.name, 'PredictResponse')) } },
          },
          ...refusals,
          504: errorResponse('The prediction did not finish in time (DEADLINE_EXCEEDED)'),
        },
      },
    },
    [`/v1/models/${d.name}/jobs`]: {
      post: {
        operationId: `submitJob_${d.name.replace(/[^A-Za-z0-9_]/g, '_')}`,
        summary: `Run ${d.name} as a background job`,
        tags: tag,
        parameters: [preferWaitParameter],
        requestBody: requestBody(d),
        responses: {
          201: {
            description: 'Finished within Prefer: wait; the whole job with its result or error',
            content: { 'application/json': { schema: ref('JobStatus') } },
          },
          202: {
            description: 'Accepted; poll the job link, long-poll it with ?wait=N, or stream its /events',
            content: { 'application/json': { schema: ref('JobCreated') } },
          },
          ...refusals,
        },
      },
    },
  }
}
