import { Redis } from 'ioredis'

export const REDIS_URL = 'redis://127.0.0.1:6379'

/** Why Redis cannot be used here, or undefined when PING answers; callers skip loudly with this reason. */
export async function redisDown(): Promise<string | undefined> {
  const redis = new Redis(6379, '127.0.0.1', {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  redis.on('error', () => undefined)
  try {
    await redis.connect()
    return (await redis.ping()) === 'PONG' ? undefined : 'PING did not answer PONG'
  } catch (error) {
    return (error as Error).message
  } finally {
    redis.disconnect()
  }
}

/** The skip reason for a test that needs Redis, printed as a banner so a skip is never silent. */
export function loudSkipReason(what: string, down: string): string {
  const reason = `REDIS NOT AVAILABLE: skipping ${what} (127.0.0.1:6379: ${down})`
  console.log(`\n${'!'.repeat(reason.length)}\n${reason}\n${'!'.repeat(reason.length)}\n`)
  return reason
}

/** Delete every key under the prefix (SCAN, not KEYS, to stay polite to a shared Redis). */
export async function removeKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
  try {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500)
      if (keys.length) await redis.del(...keys)
      cursor = next
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
}
