import { type Config, VERSION } from '../../config/index.js'
import { ERRORS } from '../../errors.js'
import { oneVersionEach, type ModelDescriptor } from '../../model/index.js'
import { ErrorEnvelope } from '../schemas.js'
import { adminPaths } from './admin-paths.js'
import { JobCreated, jobEventsResponse, jobStatusSchema, longPollParameter } from './job-schemas.js'
import { errorResponse, modelPaths, modelSchemas } from './model-paths.js'

export const OPENAPI_VERSION = '3.1.0'
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
// TypeBox values carry symbol keys; a JSON round trip leaves plain JSON Schema
const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value))

const jsonResponse = (description: string, schema: unknown) => ({
  description,
  content: { 'application/json': { schema } },
})

/** The OpenAPI 3.1 document for these models, built from the same schemas that validate requests. */
export function buildOpenApi(
  allVersions: ModelDescriptor[],
  config: Pick<Config, 'apiKeys' | 'maxInstances'>,
): Record<string, unknown> {
  // the schemas of each model's default (highest) version; other versions are reached by /versions/{v} URLs
  const descriptors = oneVersionEach(allVersions)
  const secured = config.apiKeys.length > 0
  const open = secured ? { security: [] } : {}
  const jobId = [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }]
  const modelName = [
    { name: 'name', in: 'path', required: true, schema: { type: 'string', enum: descriptors.map((d) => d.name) } },
  ]
  const jobResponses = {
    200: jsonResponse('The job with its status, progress, and result or error', ref('JobStatus')),
    404: errorResponse('No job with that id (JOB_NOT_FOUND)'),
  }
  return {
    openapi: OPENAPI_VERSION,
    info: {
      title: 'Carafe',
      version: VERSION,
      description: `Models served: ${descriptors.map((d) => d.name).join(', ') || 'none'}. Errors are always {"error":{code,message,details,requestId}}; codes: ${Object.keys(ERRORS).join(', ')}.`,
    },
    tags: descriptors.map((d) => ({ name: d.name, description: d.description })),
    paths: {
      ...Object.assign({}, ...descriptors.map(modelPaths)),
      '/v1/jobs/{id}': {
        get: {
          operationId: 'getJob',
          summary: 'Job status',
          tags: ['jobs'],
          parameters: [...jobId, longPollParameter],
          responses: { ...jobResponses, 400: errorResponse('wait is not 0 to 60 whole seconds (INVALID_WAIT)') },
        },
        delete: {
          operationId: 'cancelJob',
          summary: 'Cancel a job',
          tags: ['jobs'],
          parameters: jobId,
          responses: jobResponses,
        },
      },
      '/v1/jobs/{id}/events': {
        get: {
          operationId: 'jobEvents',
          summary: 'Job progress and final state as Server-Sent Events',
          tags: ['jobs'],
          parameters: jobId,
          responses: {
            200: jobEventsResponse,
            204: { description: 'Reconnected after the final event' },
            404: jobResponses[404],
          },
        },
      },
      '/v1/models': {
        get: {
          operationId: 'listModels',
          summary: 'List served models',
          responses: { 200: jsonResponse('The models', { type: 'object' }) },
        },
      },
      '/v1/models/{name}': {
        get: {
          operationId: 'describeModel',
          summary: 'A model with its schemas, examples, batching and state',
          parameters: modelName,
          responses: {
            200: jsonResponse('The model', { type: 'object' }),
            404: errorResponse('No such model (MODEL_NOT_FOUND)'),
          },
        },
      },
      ...adminPaths,
      '/healthz': {
        get: {
          operationId: 'live',
          summary: 'Liveness',
          ...open,
          responses: { 200: jsonResponse('Alive', { type: 'object' }) },
        },
      },
      '/readyz': {
        get: {
          operationId: 'ready',
          summary: 'Readiness',
          ...open,
          responses: {
            200: jsonResponse('Every model is ready', { type: 'object' }),
            503: jsonResponse('Still loading', { type: 'object' }),
          },
        },
      },
    },
    components: {
      schemas: {
        ErrorEnvelope: plain(ErrorEnvelope),
        JobCreated,
        JobStatus: jobStatusSchema('#/components/schemas/ErrorEnvelope'),
        ...Object.assign({}, ...descriptors.map((d) => modelSchemas(d, config.maxInstances))),
      },
      ...(secured
        ? {
            securitySchemes: {
              bearerAuth: { type: 'http', scheme: 'bearer' },
              apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Token' },
            },
          }
        : {}),
    },
    ...(secured ? { security: [{ bearerAuth: [] }, { apiKey: [] }] } : {}),
  }
}
