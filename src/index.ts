/** The public surface of the `carafe` package. */
export { defineModel } from './model/index.js'
export type { ModelDefinition, PredictContext, SetupContext, BatchPolicy, JsonSchema } from './model/index.js'
export { CarafeError, ERRORS } from './errors.js'
export type { ErrorCode } from './errors.js'
export { buildApp, createCarafe, loadAll } from './http/index.js'
export { loadConfig } from './config/index.js'
export { carafe } from './http/index.js'
export type { CarafePluginOptions } from './http/index.js'
