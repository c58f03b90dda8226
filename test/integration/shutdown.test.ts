import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { test } from 'node:test'
import { get, post } from '../helpers/server.js'
import { CLI, fixture } from '../helpers/paths.js'

test('SIGTERM under load: every accepted request is answered 200, late ones get SHUTTING_DOWN, exit code 0', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'carafe-shutdown-')) // its own: one server per data dir (the job lock)
  t.after(() => rmSync(dataDir, { recursive: true, force: true }))
  const child = spawn(process.execPath, [CLI, 'serve', join(fixture('handlers'), 'sleeps.ts'), '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, CARAFE_DATA_DIR: dataDir },
  })
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') // only our own child, by its handle
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server never logged ready')), 30_000)
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line)
      if (entry.msg === 'ready') {
        clearTimeout(timer)
        resolve(entry.url)
      }
    })
  })
  const accepted = Array.from({ length: 5 }, (_, i) =>
    post(`${url}/v1/models/sleeps:predict`, { instances: [200 + i] }),
  )
  for (let i = 0; (await get(`${url}/v1/models/sleeps`)).body.stats.queueDepth < 4; i++) {
    assert.ok(i < 500, 'the requests never queued')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  child.kill('SIGTERM')
  await new Promise((resolve) => setTimeout(resolve, 100))
  // a late request is refused in our envelope, or finds the listener already closed
  const late = await post(`${url}/v1/models/sleeps:predict`, { instances: [1] }).catch(() => undefined)
  if (late) {
    assert.equal(late.status, 503)
    assert.equal(late.body.error.code, 'SHUTTING_DOWN')
  }
  t.diagnostic(`late request: ${late ? late.status + ' ' + late.body?.error?.code : 'connection refused'}`)
  const ready = await get(`${url}/readyz`).catch(() => undefined)
  t.diagnostic(`readyz during drain: ${ready?.status ?? 'connection refused'}`)
  if (ready) assert.equal(ready.status, 503)
  const answers = await Promise.all(accepted)
  assert.deepEqual(
    answers.map((a) => a.status),
    [200, 200, 200, 200, 200],
  )
  assert.deepEqual(
    answers.map((a) => a.body.predictions[0].x),
    [200, 201, 202, 203, 204],
  )
  assert.equal(await exited, 0)
})
