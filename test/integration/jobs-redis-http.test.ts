import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { get, post, startServer } from '../helpers/server.js'
import { fixture } from '../helpers/paths.js'
import { loudSkipReason, redisDown, removeKeys } from '../helpers/redis.js'
import { waitFor } from '../helpers/poll.js'

const SLOW = fixture('handlers/slow-progress.ts')

test('two servers on one Redis: a job submitted to one is answered by the other', async (t) => {
  const down = await redisDown()
  if (down) {
    t.skip(loudSkipReason('the redis job routes test', down))
    return
  }
  const prefix = `carafe-test:${randomUUID()}`
  t.after(async () => {
    await removeKeys(prefix)
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
