import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fixture } from '../helpers/paths.js'
import { get, post, startServer } from '../helpers/server.js'

const handler = (name: string) => join(fixture('handlers'), `${name}.ts`)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function waitUntil(what: string, check: () => Promise<boolean>, limitMs = 20_000): Promise<void> {
  const until = Date.now() + limitMs
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`${what}: not within ${limitMs} ms`)
    await sleep(20)
  }
}

test('one model crashed by poison requests over and over, beside a healthy one: /readyz stays 200, details show it', async (t) => {
  const { url } = await startServer([handler('crashes'), handler('echo')], { t })
  const samples: { status: number; crashes: string; ready: boolean }[] = []
  let poisoning = true
  // a load balancer's health check, far more often than any real one
  const sampler = (async () => {
    while (poisoning) {
      const { status, body } = await get(`${url}/readyz`)
      samples.push({ status, crashes: body.models.crashes, ready: body.details.models.crashes.ready })
      await sleep(10)
    }
  })()
  const healthy: number[] = []
  const traffic = (async () => {
    while (poisoning) {
      healthy.push((await post(`${url}/v1/models/echo:predict`, { instances: [{ x: 1 }] })).status)
      await sleep(10)
    }
  })()
  for (let i = 0; i < 5; i++) {
    const poisoned = await post(`${url}/v1/models/crashes:predict`, { instances: [13] })
    assert.equal(poisoned.status, 503, poisoned.text)
    assert.equal(poisoned.body.error.code, 'RUNNER_CRASHED')
    await waitUntil('crashes comes back', async () => (await get(`${url}/v2/models/crashes/ready`)).status === 200)
  }
  poisoning = false
  await Promise.all([sampler, traffic])

  assert.ok(samples.length >= 20, `sampled /readyz ${samples.length} times`)
  const notReady = samples.filter((s) => s.status !== 200)
  assert.deepEqual(notReady, [], 'a replica with one crashing model stays in rotation')
  assert.ok(
    samples.some((s) => s.crashes === 'restarting' && !s.ready),
    `the details named the model restarting at least once: ${[...new Set(samples.map((s) => s.crashes))]}`,
  )
  assert.ok(healthy.length > 0 && healthy.every((s) => s === 200), `echo answered ${healthy}`)
  const { body } = await get(`${url}/readyz`)
  assert.equal(body.details.models.crashes.restarts, 5)
  assert.deepEqual(body.details.models.echo, {
    state: 'ready',
    ready: true,
    restarts: 0,
    versions: [{ version: body.details.models.echo.versions[0]?.version, state: 'ready' }],
  })
})

test('a model crash-looping in setup past its restart grace makes /readyz 503 "model down"', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'carafe-readiness-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const flag = join(dir, 'fail-setup')
  process.env.CARAFE_TEST_FAIL_SETUP = flag // read by the fixture's setup in the runner threads started after this
  t.after(() => delete process.env.CARAFE_TEST_FAIL_SETUP)
  const { url } = await startServer([handler('crash-loops'), handler('echo')], { t })
  assert.equal((await get(`${url}/readyz`)).status, 200)
  writeFileSync(flag, '')
  assert.equal((await post(`${url}/v1/models/crash-loops:predict`, { instances: [13] })).status, 503)
  let last: { status: number; body: any } = await get(`${url}/readyz`)
  await waitUntil('readiness drops', async () => {
    last = await get(`${url}/readyz`)
    return last.status === 503
  })
  assert.equal(last.body.reason, 'model down')
  assert.equal(last.body.models['crash-loops'], 'down')
  assert.equal(last.body.details.models.echo.state, 'ready')
  assert.equal((await post(`${url}/v1/models/echo:predict`, { instances: [{ x: 2 }] })).status, 200)
})

test('a model that is down answers its sync requests 503 NOT_READY, the waiting ones too, while its jobs wait', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'carafe-down-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const flag = join(dir, 'fail-setup')
  process.env.CARAFE_TEST_FAIL_SETUP = flag
  t.after(() => delete process.env.CARAFE_TEST_FAIL_SETUP)
  // deadlines far away: without the fix the waiting request would hang on for a minute, not fail fast
  const { url } = await startServer([handler('crash-loops')], { t, config: { timeoutMs: 60_000 } })
  writeFileSync(flag, '')
  assert.equal((await post(`${url}/v1/models/crash-loops:predict`, { instances: [13] })).status, 503)
  // queued while the runner restarts (within its grace), answered once the model is seen down
  const waiting = post(`${url}/v1/models/crash-loops:predict`, { instances: [1] })
  const job = (await post(`${url}/v1/models/crash-loops/jobs`, { instances: [2] })).body
  await waitUntil('the model is down', async () => (await get(`${url}/readyz`)).body.models['crash-loops'] === 'down')
  const waited = await waiting
  assert.equal(waited.status, 503, waited.text)
  assert.equal(waited.body.error.code, 'NOT_READY')
  const fresh = await post(`${url}/v1/models/crash-loops:predict`, { instances: [3] })
  assert.equal(fresh.body.error.code, 'NOT_READY')
  assert.ok(Number(fresh.headers.get('retry-after')) >= 1)
  // the job was accepted: it is not failed for the model being down, and runs once the model is back
  // (taken by the job store, waiting in the model's queue)
  assert.equal((await get(`${url}/v1/jobs/${job.id}`)).body.status, 'running')
  rmSync(flag)
  await waitUntil(
    'the job ran',
    async () => (await get(`${url}/v1/jobs/${job.id}`)).body.status === 'succeeded',
    30_000,
  )
})
