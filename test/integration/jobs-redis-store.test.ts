import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { RedisJobStore } from '../../src/jobs/index.js'
import { jobStoreContract } from '../contracts/job-store.js'
import { loudSkipReason, REDIS_URL, redisDown, removeKeys } from '../helpers/redis.js'

const down = await redisDown()
if (down) {
  const reason = loudSkipReason('the redis JobStore contract', down)
  test('JobStore (redis)', (t) => {
    t.skip(reason)
  })
} else {
  jobStoreContract('redis', async () => {
    const prefix = `carafe-test:${randomUUID()}`
    return {
      open: () => RedisJobStore.open({ url: REDIS_URL, prefix, concurrency: 4, retentionMs: 60_000 }),
      remove: () => removeKeys(prefix),
    }
  })
}
