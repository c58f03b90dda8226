import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { waitFor, waitForState } from '../helpers/poll.js'
import { get, post, startServer } from '../helpers/server.js'
import { fixture } from '../helpers/paths.js'

const handler = (name: string) => join(fixture('handlers'), `${name}.ts`)

/** A directory for setup-counts.ts, seen by the runners this process starts from now on. */
function setupDir(t: { after(fn: () => void): void }, mode: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'carafe-setups-'))
  process.env.CARAFE_TEST_SETUP_DIR = dir
  process.env.CARAFE_TEST_SETUP_MODE = mode
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

test('a client deadline abandons only its request: three 5 ms deadlines on a slow model give three 504s, no restart', async (t) => {
  const { url, logs } = await startServer(handler('sleeps'), { t })
  for (let i = 0; i < 3; i++) {
    const late = await post(`${url}/v1/models/sleeps:predict`, { instances: [300] }, { 'x-carafe-timeout-ms': '5' })
    assert.equal(late.status, 504)
    assert.equal(late.body.error.code, 'DEADLINE_EXCEEDED')
  }
  const model = (await get(`${url}/v1/models/sleeps`)).body
  assert.equal(model.stats.restarts, 0)
  assert.equal(model.state, 'ready')
  assert.equal((await get(`${url}/readyz`)).status, 200)
  assert.equal((await post(`${url}/v1/models/sleeps:predict`, { instances: [1] })).status, 200)
  assert.equal(
    logs.filter((line) => /terminat|replac/.test(String(line.msg))).length,
    0,
    'no runner was terminated or replaced',
  )
})

test('a handler reading its signal is cancelled at the client deadline, in the same runner', async (t) => {
  const { url } = await startServer(handler('cancellable'), { t })
  const late = await post(
    `${url}/v1/models/cancellable:predict`,
    { instances: [20_000] },
    { 'x-carafe-timeout-ms': '50' },
  )
  assert.equal(late.status, 504)
  // the count lives in the runner: it survives only if the runner was not replaced
  let counted: unknown
  for (let i = 0; i < 200 && counted !== 1; i++) {
    counted = (await post(`${url}/v1/models/cancellable:predict`, { instances: [-1] })).body.predictions?.[0]
    if (counted !== 1) await new Promise((resolve) => setTimeout(resolve, 25))
  }
  assert.equal(counted, 1, 'the run was cancelled through its signal')
  assert.equal((await get(`${url}/v1/models/cancellable`)).body.stats.restarts, 0)
})

test('a hung setup is killed at setupTimeoutMs and retried with back-off until a setup succeeds', async (t) => {
  const dir = setupDir(t, 'hang-once')
  const { url, logs } = await startServer(handler('setup-counts'), {
    t,
    // generous: a setup slower than this on a loaded machine is killed too (and retried), which the test tolerates
    config: { models: { 'setup-counts': { setupTimeoutMs: 4000 } } },
  })
  const crashed = await post(`${url}/v1/models/setup-counts:predict`, { instances: [13] })
  assert.equal(crashed.body.error.code, 'RUNNER_CRASHED')
  // setup 1 (the first restart) hangs for ever; it must be killed and setup 2 must bring the model back
  const model = await waitForState(url, 'setup-counts', 'ready')
  // the crash, then the hung setup killed: at least two restarts and three setups (more if a slow one was killed too)
  assert.ok(model.stats.restarts >= 2, `restarts ${model.stats.restarts}`)
  assert.ok(readdirSync(dir).length >= 3, `setups ${readdirSync(dir).length}`)
  assert.ok(logs.some((line) => /setupTimeoutMs/.test(JSON.stringify(line))))
  assert.equal((await post(`${url}/v1/models/setup-counts:predict`, { instances: [4] })).status, 200)
})

test('a setup that never ends fails the start with a clear error instead of hanging', async (t) => {
  setupDir(t, 'hang-once')
  // the first setup of this fresh directory succeeds; a second model on the same directory hangs in its setup
  const start = startServer(handler('setup-counts'), {
    t,
    config: { models: { 'setup-counts': { workers: 2, setupTimeoutMs: 1500 } } },
  })
  const bound = new Promise((resolve) => setTimeout(resolve, 20_000, 'still starting after 20 s'))
  await assert.rejects(
    Promise.race([start, bound.then((message) => Promise.reject(new Error(String(message))))]),
    /setupTimeoutMs/,
  )
})

test('a job longer than the sync timeout succeeds (jobs have their own jobTimeoutMs)', async (t) => {
  const { url } = await startServer(handler('sleeps'), { t, config: { timeoutMs: 200 } })
  const sync = await post(`${url}/v1/models/sleeps:predict`, { instances: [600] })
  assert.equal(sync.status, 504)
  const { body } = await post(`${url}/v1/models/sleeps/jobs`, { instances: [600] })
  const done = await waitFor(`${url}/v1/jobs/${body.id}`, (b) => b.status !== 'queued' && b.status !== 'running')
  assert.equal(done.status, 'succeeded', JSON.stringify(done.error))
  assert.equal(done.result.predictions[0].x, 600)
})

test('a job past its jobTimeoutMs fails with DEADLINE_EXCEEDED', async (t) => {
  const { url } = await startServer(handler('sleeps'), { t, config: { models: { sleeps: { jobTimeoutMs: 100 } } } })
  const { body } = await post(`${url}/v1/models/sleeps/jobs`, { instances: [2000] })
  const done = await waitFor(`${url}/v1/jobs/${body.id}`, (b) => b.status !== 'queued' && b.status !== 'running')
  assert.equal(done.status, 'failed')
  assert.equal(done.error.code, 'DEADLINE_EXCEEDED')
})

test('in the item-by-item retry, the items after one that crashed the runner run on the replacement', async (t) => {
  const { url } = await startServer(handler('fails-or-crashes'), { t })
  const path = `${url}/v1/models/fails-or-crashes:predict`
  // one batch of three (1 s window): it fails as a whole, then each runs alone; 13 kills the runner
  const bad = post(path, { instances: [-1] })
  await new Promise((resolve) => setTimeout(resolve, 20))
  const crash = post(path, { instances: [13] })
  await new Promise((resolve) => setTimeout(resolve, 20))
  const innocent = post(path, { instances: [5] })
  const [a, b, c] = await Promise.all([bad, crash, innocent])
  assert.equal(a.status, 500)
  assert.equal(b.body.error.code, 'RUNNER_CRASHED')
  assert.equal(c.status, 200, c.text)
  assert.equal(c.body.predictions[0].x, 5)
})
