import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { Redis } from 'ioredis'
import { RedisJobStore } from '../../src/jobs/index.js'
import { jobStoreContract } from '../contracts/job-store.js'

const URL = 'redis://127.0.0.1:6379'

/** PING once; a missing Redis skips loudly, never passes silently. */
async function redisUp(): Promise<string | undefined> {
  const redis = new Redis(6379, '127.0.0.1', { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null })
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

/** Delete every key under the prefix (SCAN, not KEYS, to stay polite to a shared Redis). */
async function removeKeys(prefix: string): Promise<void> {
  const redis = new Redis(URL, { maxRetriesPerRequest: 1 })
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

const down = await redisUp()
if (down) {
  const reason = `REDIS NOT AVAILABLE: skipping the redis JobStore contract (${URL}: ${down})`
  console.log(`\n${'!'.repeat(reason.length)}\n${reason}\n${'!'.repeat(reason.length)}\n`)
  test('JobStore (redis)', (t) => { t.skip(reason) })
} else {
  jobStoreContract('redis', async () => {
    const prefix = `carafe-test:${randomUUID()}`
    return {
      open: () => RedisJobStore.open({ url: URL, prefix, concurrency: 4, retentionMs: 60_000 }),
      remove: () => removeKeys(prefix),
    }
  })
}
