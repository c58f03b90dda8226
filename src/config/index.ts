export { Config, ModelSettings } from './schema.js'
export { loadConfig, ConfigError } from './load.js'
export { maskedConfig, maskSecret } from './print.js'
export { applyModelSettings } from './model-settings.js'
