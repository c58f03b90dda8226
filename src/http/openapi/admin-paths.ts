import { errorResponse } from './model-paths.js'

const json = (description: string) => ({
  description,
  content: { 'application/json': { schema: { type: 'object' } } },
})
const name = [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }]
const version = { type: ['integer', 'string'], description: 'a version folder number, e.g. 2' }
const body = (properties: Record<string, unknown>, required: string[] = []) => ({
  required: required.length > 0,
  content: {
    'application/json': { schema: { type: 'object', properties, required, additionalProperties: false } },
  },
})
const refusals = {
  400: errorResponse('A bad body (INVALID_INPUT, with details)'),
  404: errorResponse('No such model (MODEL_NOT_FOUND) or version (VERSION_NOT_FOUND)'),
}
const loads = {
  ...refusals,
  422: errorResponse('The model could not be loaded; what served keeps serving (MODEL_LOAD_FAILED)'),
  507: errorResponse('The load would pass memoryBudgetMb (MEMORY_BUDGET_EXCEEDED)'),
}
const tags = ['admin']
const kept =
  'Kept across restarts in the admin state file (adminStateFile, default dataDir/admin-state.json) until ' +
  'POST /v1/admin/models/{name}/reset.'

/** The management API (`/v1/admin/...`), under the API keys like the rest of the API. */
export const adminPaths = {
  '/v1/admin/models': {
    get: {
      operationId: 'adminListModels',
      summary: 'Models and versions with state, memory and the last load error',
      tags,
      responses: { 200: json('The models') },
    },
  },
  '/v1/admin/reload': {
    post: {
      operationId: 'adminReload',
      summary: 'Rescan the model repository now (as SIGHUP does)',
      tags,
      responses: { 200: json('The models after the rescan') },
    },
  },
  '/v1/admin/models/{name}/load': {
    post: {
      operationId: 'adminLoadModel',
      description: kept,
      summary: 'Load a model folder of the repository, or one version of it',
      tags,
      parameters: name,
      requestBody: body({ version }),
      responses: { 200: json('The model and its versions'), ...loads },
    },
  },
  '/v1/admin/models/{name}/unload': {
    post: {
      operationId: 'adminUnloadModel',
      description: kept,
      summary: 'Stop serving a model or one version: it drains, then its runners stop',
      tags,
      parameters: name,
      requestBody: body({ version }),
      responses: { 200: json('The model and the versions left'), ...refusals },
    },
  },
  '/v1/admin/models/{name}/reload': {
    post: {
      operationId: 'adminReloadModel',
      summary: 'Load the served versions again from their folders, swap when warm, drain the old',
      tags,
      parameters: name,
      responses: { 200: json('The model and its versions'), ...loads },
    },
  },
  '/v1/admin/models/{name}/default-version': {
    put: {
      operationId: 'adminSetDefaultVersion',
      description: kept,
      summary: 'The version requests without a version reach',
      tags,
      parameters: name,
      requestBody: body({ version }, ['version']),
      responses: { 200: json('The model and its versions'), ...refusals },
    },
  },
  '/v1/admin/models/{name}/reset': {
    post: {
      operationId: 'adminResetModel',
      summary: 'Forget the management API changes to a model: version policy, default version and settings again',
      tags,
      parameters: name,
      responses: { 200: json('The model and its versions'), ...loads },
    },
  },
  '/v1/admin/models/{name}': {
    patch: {
      operationId: 'adminUpdateModel',
      description: kept,
      summary: 'Change workers and batching at run time (a replacement loads with them and takes over)',
      tags,
      parameters: name,
      requestBody: body({
        workers: { type: 'integer', minimum: 1, maximum: 64 },
        batch: {
          oneOf: [
            { const: false },
            {
              type: 'object',
              properties: { maxSize: { type: 'integer' }, maxDelayMs: { type: 'number' } },
              required: ['maxSize', 'maxDelayMs'],
            },
          ],
        },
      }),
      responses: { 200: json('The model and its versions'), ...loads },
    },
  },
}
