export { Config, ModelSettings } from './schema.js'
export { loadConfig, ConfigError } from './load.js'
