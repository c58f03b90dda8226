import { Ajv, type ErrorObject } from 'ajv'
import { Config } from './schema.js'
import { allowedFor, keyOf, mostSpecific } from './explain.js'
import { unsafeKeyMessage, unsafeKeyPath } from './unsafe-keys.js'

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
export function loadConfig({
  file = {},
  env = {},
  flags = {},
}: {
  file?: Record<string, unknown>
  env?: Record<string, string | undefined>
  flags?: Record<string, unknown>
} = {}): Readonly<Config> {
  const unsafe = unsafeKeyPath(file) ?? unsafeKeyPath(flags)
  if (unsafe !== undefined) throw new ConfigError(`config: ${unsafeKeyMessage(unsafe)}`)
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
    const errors = validateConfig.errors!
    // a union (`batch: false | {maxSize, maxDelayMs}`) reports each branch: a complaint inside one branch says more
    const union = errors.find((e) => e.keyword === 'anyOf')
    const depth = (e: ErrorObject) => keyOf(e).split('.').length
    const inside = errors.filter((e) => e.keyword !== 'anyOf' && union && depth(e) > depth(union))
    const error = inside.length > 0 ? mostSpecific(inside) : (union ?? errors[0]!)
    const key = keyOf(error)
    const source = origin.get(key.split('.')[0])
    const where = source
      ? ` (from ${source.from}${source.from.startsWith('CARAFE_') ? `=${JSON.stringify(env[source.from])}` : ` = ${JSON.stringify(source.value)}`})`
      : ''
    const message =
      error.keyword === 'additionalProperties'
        ? 'is not a known key'
        : error.keyword === 'anyOf'
          ? 'is not one of the allowed values'
          : (error.message ?? 'is invalid')
    throw new ConfigError(`config: ${key} ${message}${where}; ${allowedFor(Config, error)}`)
  }
  return deepFreeze(merged as Config)
}

const ENV_KEYS: Record<string, { key: keyof Config; parse: (raw: string) => unknown }> = {
  CARAFE_HOST: { key: 'host', parse: String },
  CARAFE_PORT: { key: 'port', parse: toNumber },
  CARAFE_BODY_LIMIT: { key: 'bodyLimit', parse: toNumber },
  CARAFE_LOG_LEVEL: { key: 'logLevel', parse: String },
  CARAFE_TIMEOUT_MS: { key: 'timeoutMs', parse: toNumber },
  CARAFE_JOB_TIMEOUT_MS: { key: 'jobTimeoutMs', parse: toNumber },
  CARAFE_HANG_TIMEOUT_MS: { key: 'hangTimeoutMs', parse: toNumber },
  CARAFE_SETUP_TIMEOUT_MS: { key: 'setupTimeoutMs', parse: toNumber },
  CARAFE_MAX_QUEUE: { key: 'maxQueue', parse: toNumber },
  CARAFE_MAX_INSTANCES: { key: 'maxInstances', parse: toNumber },
  CARAFE_JOBS: { key: 'jobs', parse: String },
  CARAFE_DATA_DIR: { key: 'dataDir', parse: String },
  CARAFE_ADMIN_STATE_FILE: { key: 'adminStateFile', parse: toFileOrOff },
  CARAFE_JOB_CONCURRENCY: { key: 'jobConcurrency', parse: toNumber },
  CARAFE_JOB_RETENTION_MS: { key: 'jobRetentionMs', parse: toNumber },
  CARAFE_JOB_MAX_ATTEMPTS: { key: 'jobMaxAttempts', parse: toNumber },
  CARAFE_WEBHOOK_HOSTS: { key: 'webhookHosts', parse: toList },
  CARAFE_WEBHOOK_SECRET: { key: 'webhookSecret', parse: String },
  CARAFE_API_KEYS: { key: 'apiKeys', parse: toList },
  CARAFE_API_KEYS_FILE: { key: 'apiKeysFile', parse: String },
  CARAFE_METRICS_AUTH: { key: 'metricsAuth', parse: toBoolean },
  CARAFE_PUBLIC_DOCS: { key: 'publicDocs', parse: toBoolean },
  CARAFE_TLS_CERT: { key: 'tlsCert', parse: String },
  CARAFE_TLS_KEY: { key: 'tlsKey', parse: String },
  CARAFE_HTTP2: { key: 'http2', parse: toBoolean },
  CARAFE_RATE_LIMIT: { key: 'rateLimit', parse: toNumber },
  CARAFE_RATE_LIMIT_WINDOW_MS: { key: 'rateLimitWindowMs', parse: toNumber },
  CARAFE_AUTH_FAILURE_LIMIT: { key: 'authFailureLimit', parse: toNumber },
  CARAFE_CORS_ORIGINS: { key: 'corsOrigins', parse: toList },
  CARAFE_MAX_CONNECTIONS: { key: 'maxConnections', parse: toNumber },
  CARAFE_CONNECTION_TIMEOUT_MS: { key: 'connectionTimeoutMs', parse: toNumber },
  CARAFE_KEEP_ALIVE_TIMEOUT_MS: { key: 'keepAliveTimeoutMs', parse: toNumber },
  CARAFE_REQUEST_TIMEOUT_MS: { key: 'requestTimeoutMs', parse: toNumber },
  CARAFE_MAX_JOB_QUEUE: { key: 'maxJobQueue', parse: toNumber },
  CARAFE_DRAIN_DELAY_MS: { key: 'drainDelayMs', parse: toNumber },
  CARAFE_REPOSITORY_POLL_MS: { key: 'repositoryPollMs', parse: toNumber },
  CARAFE_MEMORY_BUDGET_MB: { key: 'memoryBudgetMb', parse: toNumber },
  CARAFE_SHUTDOWN_TIMEOUT_MS: { key: 'shutdownTimeoutMs', parse: toNumber },
}

function toList(raw: string): string[] {
  return raw
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean)
}

// "false" turns the file off; anything else is a path
function toFileOrOff(raw: string): unknown {
  return raw.trim().toLowerCase() === 'false' ? false : raw
}

// Anything but true/false/1/0 stays a string so the schema names the bad value.
function toBoolean(raw: string): unknown {
  const value = raw.trim().toLowerCase()
  return value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : raw
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
