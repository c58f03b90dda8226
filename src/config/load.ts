import { Ajv } from 'ajv'
import { Config } from './schema.js'

export class ConfigError extends Error {
  override name = 'ConfigError'
}

const ajv = new Ajv({ useDefaults: true, coerceTypes: false, allErrors: false, strict: false })
const validateConfig = ajv.compile<Config>(Config)

type Source = { value: unknown; from: string }

/**
 * Merge defaults < file < CARAFE_* environment < flags, validate once, freeze.
 * An error names the key, the value and where it came from.
 */
export function loadConfig({ file = {}, env = {}, flags = {} }: {
  file?: Record<string, unknown>
  env?: Record<string, string | undefined>
  flags?: Record<string, unknown>
} = {}): Readonly<Config> {
  const merged: Record<string, unknown> = {}
  const origin = new Map<string, Source>()
  const put = (key: string, value: unknown, from: string) => {
    if (value === undefined) return
    merged[key] = value
    origin.set(key, { value, from })
  }
  for (const [key, value] of Object.entries(file)) put(key, value, 'config file')
  for (const [key, value] of Object.entries(fromEnv(env))) put(key, value.value, value.from)
  for (const [key, value] of Object.entries(flags)) put(key, value, `flag --${key}`)

  if (!validateConfig(merged)) {
    const error = validateConfig.errors![0]
    const key = (error.instancePath.split('/')[1] ?? (error.params as { additionalProperty?: string }).additionalProperty) || '(root)'
    const source = origin.get(key)
    const where = source ? ` (from ${source.from}${source.from.startsWith('CARAFE_') ? `=${JSON.stringify(env[source.from])}` : ` = ${JSON.stringify(source.value)}`})` : ''
    throw new ConfigError(`config: ${key} ${error.message ?? 'is invalid'}${where}`)
  }
  return deepFreeze(merged as Config)
}

const ENV_KEYS: Record<string, { key: keyof Config; parse: (raw: string) => unknown }> = {
  CARAFE_HOST: { key: 'host', parse: String },
  CARAFE_PORT: { key: 'port', parse: toNumber },
  CARAFE_BODY_LIMIT: { key: 'bodyLimit', parse: toNumber },
  CARAFE_LOG_LEVEL: { key: 'logLevel', parse: String },
  CARAFE_TIMEOUT_MS: { key: 'timeoutMs', parse: toNumber },
  CARAFE_MAX_QUEUE: { key: 'maxQueue', parse: toNumber },
  CARAFE_MAX_INSTANCES: { key: 'maxInstances', parse: toNumber },
  CARAFE_JOBS: { key: 'jobs', parse: String },
  CARAFE_DATA_DIR: { key: 'dataDir', parse: String },
  CARAFE_JOB_CONCURRENCY: { key: 'jobConcurrency', parse: toNumber },
  CARAFE_JOB_RETENTION_MS: { key: 'jobRetentionMs', parse: toNumber },
  CARAFE_WEBHOOK_HOSTS: { key: 'webhookHosts', parse: (raw) => raw.split(',').map((h) => h.trim()).filter(Boolean) },
  CARAFE_WEBHOOK_SECRET: { key: 'webhookSecret', parse: String },
  CARAFE_API_KEYS: { key: 'apiKeys', parse: (raw) => raw.split(',').map((k) => k.trim()).filter(Boolean) },
}

function fromEnv(env: Record<string, string | undefined>): Record<string, { value: unknown; from: string }> {
  const out: Record<string, { value: unknown; from: string }> = {}
  for (const [name, { key, parse }] of Object.entries(ENV_KEYS)) {
    const raw = env[name]
    if (raw !== undefined && raw !== '') out[key] = { value: parse(raw), from: name }
  }
  return out
}

// A non-numeric string stays a string so the schema rejects it with the original value in the message.
function toNumber(raw: string): unknown {
  const n = Number(raw)
  return raw.trim() !== '' && Number.isFinite(n) ? n : raw
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}
