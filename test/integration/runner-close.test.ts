import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadAll } from '../../src/http/index.js'
import { WorkerRunner } from '../../src/runtime/index.js'
import { fixture } from '../helpers/paths.js'

const silent = { info() {}, warn() {}, error() {} }
const handler = (name: string) => join(fixture('handlers'), `${name}.ts`)

/** Settles within `ms` or says it did not (the test fails rather than hangs). */
function within<T>(promise: Promise<T>, ms = 10_000): Promise<T | 'pending'> {
  return Promise.race([promise, new Promise<'pending'>((resolve) => setTimeout(resolve, ms, 'pending').unref())])
}

const outcome = (promise: Promise<unknown>) =>
  within(
    promise.then(
      () => 'resolved',
      (error: { code?: string }) => error.code ?? String(error),
    ),
  )

test('closing a runner whose setup never ends: close() returns, start() and whenReady() reject with SHUTTING_DOWN', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'carafe-setups-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  process.env.CARAFE_TEST_SETUP_DIR = dir
  process.env.CARAFE_TEST_SETUP_MODE = 'hang'
  const [descriptor] = await loadAll([handler('setup-counts')])
  const runner = new WorkerRunner(descriptor!, silent)
  const started = outcome(runner.start())
  const waiter = outcome(runner.whenReady())
  await new Promise((resolve) => setTimeout(resolve, 300))
  assert.equal(runner.state, 'starting')
  assert.equal(await within(runner.close()), undefined)
  assert.equal(await started, 'SHUTTING_DOWN')
  assert.equal(await waiter, 'SHUTTING_DOWN')
  assert.equal(runner.state, 'closed')
})

test('closing a runner stuck in a run: close() returns and the run gets SHUTTING_DOWN', async () => {
  const [descriptor] = await loadAll([handler('spins')])
  const runner = new WorkerRunner(descriptor!, silent, { hangTimeoutMs: 600_000 })
  await runner.start()
  const stuck = outcome(runner.run([666]))
  await new Promise((resolve) => setTimeout(resolve, 100))
  assert.equal(await within(runner.close()), undefined)
  assert.equal(await stuck, 'SHUTTING_DOWN')
})
