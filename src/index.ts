/** The public surface of the `carafe` package. */
export { defineModel } from './model/index.js'
export type { ModelDefinition, PredictContext, SetupContext, BatchPolicy, JsonSchema } from './model/index.js'
export { CarafeError, ERRORS } from './errors.js'
export type { ErrorCode } from './errors.js'
export { buildApp, createCarafe, loadAll } from './http/index.js'
export { loadConfig } from './config/index.js'
export { decodeImageInput, imageBytes, imageSchema, IMAGE_LIMITS } from './model/image.js'
export type { DecodedImage, ImageLimits } from './model/image.js'
