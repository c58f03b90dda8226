import crypto from 'node:crypto'
import { readFileSync, unwatchFile, watchFile } from 'node:fs'
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import { LRUCache } from 'lru-cache'
import { parse as parseYaml } from 'yaml'
import type { Config } from '../config/index.js'
import { CarafeError } from '../errors.js'

const sha256 = (text: string) => crypto.createHash('sha256').update(text).digest()
// stat polling survives editors and `mv` replacing the file, which fs.watch on the file does not
const KEY_FILE_POLL_MS = 500

/** The API keys in force: from the config and an optional key file re-read on SIGHUP and when it changes. */
export class ApiKeys {
  #keys: { name: string; digest: Buffer }[] = []
  readonly #config: Readonly<Config>
  readonly #log: FastifyBaseLogger
  readonly #onSighup = () => this.reload('SIGHUP')

  constructor(config: Readonly<Config>, log: FastifyBaseLogger) {
    this.#config = config
    this.#log = log
    this.reload('start')
    if (config.apiKeysFile) {
      watchFile(config.apiKeysFile, { interval: KEY_FILE_POLL_MS, persistent: false }, () =>
        this.reload('file changed'),
      )
      process.on('SIGHUP', this.#onSighup)
    }
  }

  get enabled(): boolean {
    return this.#keys.length > 0 || this.#config.apiKeysFile !== undefined
  }

  /**
   * Re-read the key file; a file that cannot be read keeps the keys in force (logged), so a bad edit never locks everyone out.
   * `reason` goes to the log line, so an operator sees which of SIGHUP and the file watch took a rotation.
   */
  reload(reason: 'start' | 'SIGHUP' | 'file changed'): void {
    const fromConfig = this.#config.apiKeys.map((key, i) => ({ name: `key${i + 1}`, digest: sha256(key) }))
    let fromFile: { name: string; digest: Buffer }[] = []
    if (this.#config.apiKeysFile) {
      try {
        const parsed = parseKeyFile(readFileSync(this.#config.apiKeysFile, 'utf8'))
        // an editor may write the file in two steps: an empty file is one caught mid-save, not "no keys"
        if (parsed.length === 0) throw new Error('the file holds no keys (caught mid-save?)')
        fromFile = parsed.map(({ name, key }) => ({ name, digest: sha256(key) }))
      } catch (error) {
        this.#log.warn(
          { file: this.#config.apiKeysFile, reason, problem: (error as Error).message },
          'API key file not reloaded; keeping the keys in force',
        )
        return
      }
    }
    this.#keys = [...fromConfig, ...fromFile]
    this.#log.info({ keys: this.#keys.map((k) => k.name), reason }, 'API keys loaded')
  }

  /** The name of the key that matches, compared in constant time: every key is checked, digests have one length. */
  match(given: string): string | undefined {
    const digest = sha256(given)
    let found: string | undefined
    for (const key of this.#keys)
      if (crypto.timingSafeEqual(digest, key.digest) && found === undefined) found = key.name
    return found
  }

  close(): void {
    if (!this.#config.apiKeysFile) return
    unwatchFile(this.#config.apiKeysFile)
    process.off('SIGHUP', this.#onSighup)
  }
}

/** `name: key` lines (a YAML map); a bare list of keys gets names key1, key2, … */
export function parseKeyFile(text: string): { name: string; key: string }[] {
  const parsed = parseYaml(text) ?? {}
  const entries = Array.isArray(parsed)
    ? parsed.map((key, i) => [`key${i + 1}`, key])
    : Object.entries(parsed as object)
  return entries.map(([name, key]) => {
    if (typeof key !== 'string' || key.length < 16)
      throw new Error(`key "${name}" must be a string of at least 16 characters`)
    return { name: String(name), key }
  })
}

/** The key a request carries: `Authorization: Bearer <key>` or `X-Api-Token: <key>`. */
export function keyFrom(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization
  if (typeof auth === 'string' && /^Bearer\s+/i.test(auth)) return auth.replace(/^Bearer\s+/i, '').trim()
  const token = request.headers['x-api-token']
  return typeof token === 'string' ? token.trim() : undefined
}

/**
 * Failed key checks per client address in a fixed window; past the limit the address is refused (429) until the window
 * ends, before its key is even compared, so guessing keys costs a client the window.
 */
export class AuthFailures {
  readonly #failures: LRUCache<string, { count: number; until: number }>
  readonly #limit: number
  readonly #windowMs: number

  constructor(limit: number, windowMs: number) {
    this.#limit = limit
    this.#windowMs = windowMs
    // bounded: a flood from many addresses forgets the oldest ones, it never grows the server
    this.#failures = new LRUCache({ max: MAX_TRACKED_ADDRESSES })
  }

  /** Seconds to wait when the address is throttled, else undefined. */
  blocked(address: string, now = Date.now()): number | undefined {
    if (this.#limit === 0) return undefined
    const entry = this.#failures.get(address)
    if (!entry || entry.until <= now || entry.count < this.#limit) return undefined
    return Math.ceil((entry.until - now) / 1000)
  }

  fail(address: string, now = Date.now()): void {
    if (this.#limit === 0) return
    const entry = this.#failures.get(address)
    if (!entry || entry.until <= now) this.#failures.set(address, { count: 1, until: now + this.#windowMs })
    else entry.count++
  }
}

// addresses whose failures are remembered at once
const MAX_TRACKED_ADDRESSES = 10_000

/**
 * The key check of an onRequest hook: 401 UNAUTHORIZED with WWW-Authenticate unless a configured key matches; nothing
 * when no key can exist. Synchronous (it throws), so a scope runs it inside its one callback-style hook: an async hook
 * per concern cost a promise and a turn of the hook runner each, on every request.
 */
export function checkApiKey(
  keys: ApiKeys,
  failures: AuthFailures | undefined,
  request: FastifyRequest & { apiKeyName?: string },
  reply: { header(name: string, value: string): unknown },
): void {
  if (!keys.enabled) return
  const wait = failures?.blocked(request.ip)
  if (wait !== undefined)
    throw new CarafeError(
      'RATE_LIMITED',
      `Too many requests with a wrong or missing API key from this address; retry in ${wait} s`,
      undefined,
      wait,
    )
  const given = keyFrom(request)
  const name = given ? keys.match(given) : undefined
  if (name === undefined) {
    failures?.fail(request.ip)
    reply.header('www-authenticate', 'Bearer realm="carafe"')
    throw new CarafeError('UNAUTHORIZED', given ? 'The API key is not valid' : undefined)
  }
  request.apiKeyName = name
}
