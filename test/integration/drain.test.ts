import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { spawnServe } from '../helpers/cli.js'
import { fixture } from '../helpers/paths.js'
import { get, post } from '../helpers/server.js'

test('SIGTERM with drainDelayMs: /readyz answers 503 "draining" while predictions still answer 200, then exit 0', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'carafe-drain-'))
  t.after(() => rmSync(dataDir, { recursive: true, force: true }))
  const server = await spawnServe(
    [join(fixture('handlers'), 'echo.ts'), '--port', '0', '--data-dir', dataDir, '--drain-delay-ms', '3000'],
    t,
  )
  const { url } = server
  assert.equal((await get(`${url}/readyz`)).status, 200)
  server.child.kill('SIGTERM')
  let ready = await get(`${url}/readyz`)
  for (let i = 0; ready.status === 200; i++) {
    assert.ok(i < 500, 'readiness never dropped after SIGTERM')
    await new Promise((resolve) => setTimeout(resolve, 10))
    ready = await get(`${url}/readyz`)
  }
  assert.equal(ready.status, 503)
  assert.equal(ready.body.reason, 'draining')
  assert.equal(ready.body.models.echo, 'ready', 'the model itself is fine')
  assert.equal(ready.headers.get('connection'), 'close')
  // still serving while the load balancer takes the replica out of rotation
  const served = await post(`${url}/v1/models/echo:predict`, { instances: [{ x: 4 }] })
  assert.equal(served.status, 200, served.text)
  assert.equal(served.body.predictions[0].y, 8)
  assert.equal(served.headers.get('connection'), 'close', 'keep-alive clients are told to reconnect')
  const stillDraining = await get(`${url}/readyz`)
  assert.equal(stillDraining.body.reason, 'draining')
  assert.equal(await server.exited, 0)
  const messages = server.logs.map((line) => line.msg)
  const draining = messages.findIndex((m) => String(m).startsWith('draining:'))
  const closing = messages.findIndex((m) => String(m).startsWith('closing:'))
  assert.ok(draining >= 0 && closing > draining, 'the drain comes first, then the ordered shutdown')
})
