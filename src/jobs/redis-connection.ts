import { createHash } from 'node:crypto'
import type { RedisOptions as IORedisOptions } from 'ioredis'

/** How long a producer command (submit, poll, cancel) may wait on a connected but silent Redis before 503. */
export const COMMAND_TIMEOUT_MS = 1000
const CONNECT_TIMEOUT_MS = 1000
// Reconnect soon after Redis returns, whatever the outage's length; BullMQ's own default backs off to 20 s.
const retryStrategy = (times: number) => Math.min(times * 200, 2000)

function address(url: string): IORedisOptions {
  const u = new URL(url)
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    db: Number(u.pathname.slice(1) || 0),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  }
}

/**
 * The side that answers HTTP (the Queue and our own keys): fail fast while Redis is away, as BullMQ advises for
 * producers, so a submit, poll or cancel gets 503 at once instead of waiting for the reconnection.
 */
export function producerOptions(url: string): IORedisOptions {
  return {
    ...address(url),
    enableOfflineQueue: false, // a command while disconnected fails now: nothing is queued to run after the client gave up
    autoResendUnfulfilledCommands: false, // nor is a command that was in flight when the connection dropped sent again
    maxRetriesPerRequest: 1,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy,
    // the commands of one tick in one socket write: the largest main-thread cost under the job bench
    enableAutoPipelining: true,
  }
}

/** The side that runs jobs: wait for Redis as long as it takes (BullMQ requires it of Worker connections). */
export function workerOptions(url: string): IORedisOptions {
  return { ...address(url), maxRetriesPerRequest: null, connectTimeout: CONNECT_TIMEOUT_MS, retryStrategy }
}

/**
 * The BullMQ job id of a submit with an Idempotency-Key (which already names the model): BullMQ adds a job id only
 * once, so the claim of the key and the add are one step. Shaped as a UUID (version 8: custom) like the other ids.
 */
export function idempotentJobId(idempotencyKey: string): string {
  const hex = createHash('sha256').update(idempotencyKey).digest('hex')
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

const CONNECTION_ERROR =
  /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|Connection is closed|Stream isn't writeable|Command timed out|max retries per request|LOADING/i

/** An error that says Redis cannot be reached (or is still loading its data), not that a command was wrong. */
export function isConnectionError(error: unknown): boolean {
  const { message, code, name } = error as { message?: string; code?: string; name?: string }
  return name === 'MaxRetriesPerRequestError' || CONNECTION_ERROR.test(`${code ?? ''} ${message ?? ''}`)
}
