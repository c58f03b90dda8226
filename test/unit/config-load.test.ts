import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  applyModelSettings,
  ConfigError,
  loadConfig,
  maskedConfig,
  type ModelSettings,
} from '../../src/config/index.js'

describe('config sources and precedence', () => {
  it('uses the defaults when nothing is given', () => {
    const config = loadConfig()
    assert.equal(config.port, 8080)
    assert.equal(config.logLevel, 'info')
    assert.deepEqual(config.corsOrigins, [])
    assert.equal(config.metricsAuth, false)
  })
  it('reads the file', () => assert.equal(loadConfig({ file: { port: 9001 } }).port, 9001))
  it('reads CARAFE_* variables, typed', () => {
    const config = loadConfig({
      env: {
        CARAFE_PORT: '9002',
        CARAFE_METRICS_AUTH: 'true',
        CARAFE_API_KEYS: 'aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbb',
        CARAFE_CORS_ORIGINS: 'https://a.example',
      },
    })
    assert.equal(config.port, 9002)
    assert.equal(config.metricsAuth, true)
    assert.deepEqual(config.apiKeys, ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb'])
    assert.deepEqual(config.corsOrigins, ['https://a.example'])
  })
  it('reads flags', () => assert.equal(loadConfig({ flags: { port: 9003 } }).port, 9003))
  it('has deadline defaults and reads their CARAFE_* variables', () => {
    const defaults = loadConfig()
    assert.equal(defaults.jobTimeoutMs, 3_600_000)
    assert.equal(defaults.setupTimeoutMs, 300_000)
    assert.equal(defaults.hangTimeoutMs, undefined) // derived per model: max(timeoutMs, 30 s)
    const config = loadConfig({
      env: { CARAFE_JOB_TIMEOUT_MS: '7200000', CARAFE_HANG_TIMEOUT_MS: '90000', CARAFE_SETUP_TIMEOUT_MS: '60000' },
    })
    assert.deepEqual([config.jobTimeoutMs, config.hangTimeoutMs, config.setupTimeoutMs], [7_200_000, 90_000, 60_000])
  })
  it('flags beat env, env beats the file, the file beats defaults', () => {
    const file = { port: 1, host: '0.0.0.0', logLevel: 'warn', timeoutMs: 5 }
    const env = { CARAFE_PORT: '2', CARAFE_HOST: '10.0.0.1' }
    const config = loadConfig({ file, env, flags: { port: 3 } })
    assert.equal(config.port, 3)
    assert.equal(config.host, '10.0.0.1')
    assert.equal(config.logLevel, 'warn')
    assert.equal(config.timeoutMs, 5)
    assert.equal(config.bodyLimit, 10 * 1024 * 1024)
  })
  it('is frozen', () => assert.ok(Object.isFrozen(loadConfig())))
  it('names the key, the value, the source and what is allowed', () => {
    assert.throws(
      () => loadConfig({ env: { CARAFE_PORT: '70000' } }),
      (error: Error) => {
        assert.ok(error instanceof ConfigError)
        assert.match(error.message, /port/)
        assert.match(error.message, /CARAFE_PORT="70000"/)
        assert.match(error.message, /from 0 to 65535/)
        return true
      },
    )
    assert.throws(() => loadConfig({ file: { logLevel: 'loud' } }), /logLevel .*"loud".*allowed: "fatal", "error"/)
    assert.throws(() => loadConfig({ file: { prot: 1 } }), /prot is not a known key.*allowed keys: host, port/)
    assert.throws(
      () => loadConfig({ flags: { port: 'eighty' } }),
      /port must be integer \(from flag --port = "eighty"\)/,
    )
    assert.throws(
      () => loadConfig({ file: { models: { iris: { batch: { maxSize: 0, maxDelayMs: 1 } } } } }),
      /models\.iris\.batch\.maxSize must be >= 1.*from 1 to 4096/,
    )
  })
  it('masks secrets for --print-config', () => {
    const masked = maskedConfig(
      loadConfig({ file: { apiKeys: ['secret-key-0123456789'], jobs: 'redis://user:hunter2@redis:6379' } }),
    )
    assert.deepEqual(masked.apiKeys, ['****6789'])
    assert.equal(masked.jobs, 'redis://user:****@redis:6379')
  })
})

describe('per-model settings from the models: map', () => {
  const model = { name: 'iris', batch: { maxSize: 1, maxDelayMs: 0 }, settings: { maxQueue: 5 } }
  it('merges onto the model’s own settings', () => {
    const [merged] = applyModelSettings(
      [model],
      loadConfig({ file: { models: { iris: { batch: { maxSize: 8, maxDelayMs: 2 }, workers: 2 } } } }),
    )
    assert.deepEqual(merged.batch, { maxSize: 8, maxDelayMs: 2 })
    assert.deepEqual(merged.settings, { maxQueue: 5, batch: { maxSize: 8, maxDelayMs: 2 }, workers: 2 })
  })
  it('refuses a name that matches no model', () => {
    assert.throws(
      () => applyModelSettings([model], loadConfig({ file: { models: { irs: {} } } })),
      /models\.irs names no served model; served: iris/,
    )
  })
  it('takes a prediction cache and validates it with the rest', () => {
    const [merged] = applyModelSettings(
      [model],
      loadConfig({ file: { models: { iris: { cache: { maxEntries: 1000, ttlMs: 0 } } } } }),
    )
    assert.deepEqual((merged.settings as ModelSettings).cache, { maxEntries: 1000, ttlMs: 0 })
    assert.throws(
      () => loadConfig({ file: { models: { iris: { cache: { maxEntries: 0 } } } } }),
      /models\.iris\.cache\.maxEntries must be >= 1.*from 1 to 10000000/,
    )
    assert.throws(
      () => loadConfig({ file: { models: { iris: { cache: { maxEntries: 10, ttlMs: -1 } } } } }),
      /models\.iris\.cache\.ttlMs must be >= 0/,
    )
    assert.throws(
      () => loadConfig({ file: { models: { iris: { cache: { ttlMs: 10 } } } } }),
      /models\.iris\.cache must have required property 'maxEntries'/,
    )
    assert.throws(
      () => loadConfig({ file: { models: { iris: { cache: { maxEntries: 10, size: 5 } } } } }),
      /models\.iris\.cache\.size is not a known key.*allowed keys: maxEntries, ttlMs/,
    )
    assert.throws(
      () => loadConfig({ file: { models: { iris: { cache: true } } } }),
      /models\.iris\.cache must be object/,
    )
  })
})
