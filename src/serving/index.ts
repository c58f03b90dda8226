export { ServedModel } from './served-model.js'
export type { ModelState, PredictOptions } from './served-model.js'
export { ModelRegistry } from './registry.js'
export { ModelStats } from './stats.js'
