import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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

test('a job sent to a model version on Redis runs on that version and says so, on either replica', async (t) => {
  const down = await redisDown()
  if (down) {
    t.skip(loudSkipReason('the redis versioned job test', down))
    return
  }
  const prefix = `carafe-test:${randomUUID()}`
  t.after(async () => {
    await removeKeys(prefix)
  })
  // a repository with versions 1 and 2 of one model (the fixture answers its folder's name), both served
  const root = await mkdtemp(join(tmpdir(), 'carafe-repo-'))
  const gates = await mkdtemp(join(tmpdir(), 'carafe-gates-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  t.after(() => rm(gates, { recursive: true, force: true }))
  process.env.CARAFE_TEST_GATES = gates // the fixture's setup waits for gate-<version> here
  await mkdir(join(root, 'ver'))
  await writeFile(join(root, 'ver', 'carafe.yaml'), 'name: ver\nversionPolicy: { latest: 2 }\n')
  for (const v of ['1', '2']) {
    await mkdir(join(root, 'ver', v))
    await copyFile(join(fixture('versioned'), 'model.mjs'), join(root, 'ver', v, 'model.mjs'))
    await writeFile(join(gates, `gate-${v}`), '')
  }
  const jobs = `redis://127.0.0.1:6379/0?prefix=${encodeURIComponent(prefix)}`
  const a = await startServer(root, { t, config: { jobs, repositoryPollMs: 0 } })
  const b = await startServer(root, { t, config: { jobs, repositoryPollMs: 0 } })

  const pinned = await post(`${a.url}/v1/models/ver/versions/1/jobs`, { instances: [{ ms: 0 }] }, { prefer: 'wait=10' })
  assert.equal(pinned.status, 201, JSON.stringify(pinned.body))
  assert.equal(pinned.body.version, '1')
  assert.equal(pinned.body.result.predictions[0].version, '1')
  const elsewhere = await get(`${b.url}/v1/jobs/${pinned.body.id}`)
  assert.equal(elsewhere.body.version, '1')
  assert.equal(elsewhere.body.result.predictions[0].version, '1')

  // polled to the end on the other replica, which may be the one that runs it
  const polled = await post(`${b.url}/v1/models/ver/versions/1/jobs`, { instances: [{ ms: 0 }] })
  assert.equal(polled.status, 202)
  const done = await waitFor(`${a.url}/v1/jobs/${polled.body.id}`, (body) => body.status === 'succeeded')
  assert.equal(done.version, '1')
  assert.equal(done.result.predictions[0].version, '1')

  const latest = await post(`${a.url}/v1/models/ver/jobs`, { instances: [{ ms: 0 }] }, { prefer: 'wait=10' })
  assert.equal(latest.body.version, undefined)
  assert.equal(latest.body.result.predictions[0].version, '2')
  const unknown = await post(`${a.url}/v1/models/ver/versions/9/jobs`, { instances: [{ ms: 0 }] })
  assert.equal(unknown.status, 404)
  assert.equal(unknown.body.error.code, 'VERSION_NOT_FOUND')
})
