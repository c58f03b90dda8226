import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { spawnServe } from '../helpers/cli.js'
import { example } from '../helpers/paths.js'
import { get, post } from '../helpers/server.js'

const ALICE = 'alice-key-0000000001'
const BOB = 'bob-key-00000000000002'
const BODY = { instances: [[5.1, 3.5, 1.4, 0.2]] }

// The real `carafe serve` process: SIGHUP is a process signal, so an in-process server cannot show it.
describe('SIGHUP on carafe serve', () => {
  it('re-reads the key file: the old key gets 401 UNAUTHORIZED, the new one 200, and the process keeps serving', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'carafe-sighup-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, 'keys.yaml')
    writeFileSync(file, `alice: ${ALICE}\n`)
    const server = await spawnServe(
      [example('iris'), '--port', '0', '--api-keys-file', file, '--data-dir', join(dir, 'data')],
      t,
    )
    const predictWith = (key: string) =>
      post(`${server.url}/v1/models/iris:predict`, BODY, { authorization: `Bearer ${key}` })
    assert.equal((await predictWith(ALICE)).status, 200)
    assert.equal((await predictWith(BOB)).status, 401)

    // The file is also polled (500 ms), so SIGHUP goes out at once after the write; which reload took the change
    // does not matter to clients, so the test asserts the reload logged for SIGHUP itself read the new file.
    writeFileSync(file, `bob: ${BOB}\n`)
    server.child.kill('SIGHUP')
    const reload = await server.waitForLog((line) => line.msg === 'API keys loaded' && line.reason === 'SIGHUP', 10_000)
    assert.deepEqual(reload.keys, ['bob'])

    const old = await predictWith(ALICE)
    assert.equal(old.status, 401)
    assert.equal(old.body.error.code, 'UNAUTHORIZED')
    const fresh = await predictWith(BOB)
    assert.equal(fresh.status, 200)
    assert.equal(fresh.body.predictions[0].label, 'setosa')
    assert.equal(server.child.exitCode, null)
    assert.equal(server.child.signalCode, null)
    assert.equal((await get(`${server.url}/healthz`)).status, 200)

    server.child.kill('SIGTERM')
    assert.equal(await server.exited, 0)
  })

  it('does not stop the server when there is no key file (systemctl reload sends SIGHUP)', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'carafe-sighup-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    const server = await spawnServe([example('iris'), '--port', '0', '--data-dir', dir], t)
    server.child.kill('SIGHUP')
    await server.waitForLog((line) => line.signal === 'SIGHUP', 10_000)
    assert.equal((await post(`${server.url}/v1/models/iris:predict`, BODY)).status, 200)
    assert.equal(server.child.exitCode, null)
    assert.equal(server.child.signalCode, null)
    server.child.kill('SIGTERM')
    assert.equal(await server.exited, 0)
  })
})
