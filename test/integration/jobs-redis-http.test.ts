import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { Redis } from 'ioredis'
import { get, post, startServer } from '../helpers/server.js'
import { fixture } from '../helpers/paths.js'

const SLOW = fixture('handlers/slow-progress.ts')

async function redisDown(): Promise<string | undefined> {
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

async function waitFor(url: string, done: (body: any) => boolean): Promise<any> {
  for (let i = 0; i < 2000; i++) {
    const { body } = await get(url)
    if (done(body)) return body
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`gave up polling ${url}`)
}

test('two servers on one Redis: a job submitted to one is answered by the other', async (t) => {
  const down = await redisDown()
  if (down) {
    const reason = `REDIS NOT AVAILABLE: skipping the redis job routes test (127.0.0.1:6379: ${down})`
    console.log(`\n${'!'.repeat(reason.length)}\n${reason}\n${'!'.repeat(reason.length)}\n`)
    t.skip(reason)
    return
  }
  const prefix = `carafe-test:${randomUUID()}`
  t.after(async () => {
    const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 })
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500)
      if (keys.length) await redis.del(...keys)
      cursor = next
    } while (cursor !== '0')
    redis.disconnect()
  })
  const jobs = `redis://127.0.0.1:6379/0?prefix=${encodeURIComponent(prefix)}`
  const a = await startServer(SLOW, { t, config: { jobs } })
  const b = await startServer(SLOW, { t, config: { jobs } })
  const created = await post(`${a.url}/v1/models/slow/jobs`, { instances: [{ ms: 20, tag: 'x' }] })
  assert.equal(created.status, 202)
  const done = await waitFor(`${b.url}/v1/jobs/${created.body.id}`, (body) => body.status === 'succeeded')
  assert.equal(done.result.predictions[0].tag, 'x')
  assert.equal(done.progress, 1)
  const missing = await get(`${b.url}/v1/jobs/${randomUUID()}`)
  assert.equal(missing.status, 404)
})
