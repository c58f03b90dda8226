import { ConfigError } from './load.js'
import type { Config, ModelSettings } from './schema.js'

interface Configurable {
  name: string
  batch: { maxSize: number; maxDelayMs: number }
  settings: ModelSettings
}

/** The config's `models:` entry for each model, merged over the model's own settings; a name that matches no model is an error. */
export function applyModelSettings<T extends Configurable>(models: T[], config: Readonly<Config>): T[] {
  const served = new Set(models.map((m) => m.name))
  for (const name of Object.keys(config.models ?? {})) {
    if (!served.has(name))
      throw new ConfigError(`config: models.${name} names no served model; served: ${[...served].join(', ')}`)
  }
  return models.map((model) => withSettings(model, config.models?.[model.name]))
}

/** Settings merged over a model's own (the config's `models:` entry, or a change made at run time). */
export function withSettings<T extends Configurable>(model: T, extra: ModelSettings | undefined): T {
  if (!extra) return model
  return {
    ...model,
    settings: { ...model.settings, ...extra },
    batch: extra.batch === false ? { maxSize: 1, maxDelayMs: 0 } : extra.batch ? { ...extra.batch } : model.batch,
  }
}
