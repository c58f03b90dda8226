import { createHash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import type { ModelSettings } from '../config/index.js'
import { isTensorLike, nestsDeeperThan, unflatten } from '../model/index.js'

export type CacheSettings = NonNullable<ModelSettings['cache']>

/**
 * A model's opt-in response cache (Triton's response cache, per instance): successful outputs keyed by a sha256 of
 * model name, version and the canonical JSON of one validated instance, so a key is 43 characters whatever the input's size.
 */
export class PredictionCache {
  hits = 0
  misses = 0
  readonly settings: CacheSettings
  // wrapped: lru-cache refuses undefined values, and a miss must not look like a cached null
  readonly #entries: LRUCache<string, { output: unknown }>
  readonly #prefix: string

  constructor(model: string, version: string, settings: CacheSettings) {
    this.settings = settings
    this.#entries = new LRUCache({ max: settings.maxEntries, ...(settings.ttlMs ? { ttl: settings.ttlMs } : {}) })
    this.#prefix = `${model}\0${version}\0`
  }

  /** undefined for an instance nested too deep to serialize safely (JSON.stringify recurses): it bypasses the cache. */
  keyOf(instance: unknown): string | undefined {
    if (nestsDeeperThan(instance)) return undefined
    return createHash('sha256').update(this.#prefix).update(canonicalJson(instance)).digest('base64url')
  }

  /** The cached entry for each key, undefined where the model must run; counts a hit or a miss per instance. */
  lookup(keys: (string | undefined)[]): ({ output: unknown } | undefined)[] {
    return keys.map((key) => {
      const entry = key === undefined ? undefined : this.#entries.get(key)
      if (entry) this.hits++
      else this.misses++
      return entry
    })
  }

  /** Called with the outputs of a successful prediction only: a failure is never remembered. */
  store(keys: (string | undefined)[], outputs: unknown[]): void {
    for (const [i, key] of keys.entries()) if (key !== undefined) this.#entries.set(key, { output: outputs[i] })
  }

  snapshot() {
    return { hits: this.hits, misses: this.misses, entries: this.#entries.size }
  }
}

/**
 * JSON with object keys sorted at every depth, so {a, b} and {b, a} are one key. A typed row (a V2 tensor row) is
 * written as the nested array of its values, so it shares its key with the same values sent as JSON.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    isTensorLike(inner)
      ? unflatten(inner.data, inner.dims)
      : isPlainObject(inner)
        ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : inner,
  )
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}
