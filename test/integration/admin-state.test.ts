import assert from 'node:assert/strict'
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { spawnServe } from '../helpers/cli.js'
import { fixture } from '../helpers/paths.js'
import { get, post, startServer } from '../helpers/server.js'

async function send(method: string, url: string, body?: unknown) {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  return { status: response.status, body: text ? JSON.parse(text) : undefined }
}

/** A repository with `ver` (versions 1-3, the two highest served) and `other` (version 1), plus open gates. */
async function repository(t: TestContext) {
  const root = await mkdtemp(join(tmpdir(), 'carafe-state-'))
  const gates = await mkdtemp(join(tmpdir(), 'carafe-gates-'))
  const data = await mkdtemp(join(tmpdir(), 'carafe-state-data-'))
  for (const dir of [root, gates, data]) t.after(() => rm(dir, { recursive: true, force: true }))
  process.env.CARAFE_TEST_GATES = gates
  const model = async (name: string, yaml: string, versions: string[]) => {
    await mkdir(join(root, name))
    await writeFile(join(root, name, 'carafe.yaml'), yaml)
    for (const v of versions) {
      await writeFile(join(gates, `gate-${v}`), '')
      await mkdir(join(root, name, v))
      await copyFile(join(fixture('versioned'), 'model.mjs'), join(root, name, v, 'model.mjs'))
    }
  }
  await model('ver', 'name: ver\nversionPolicy: { latest: 2 }\n', ['1', '2', '3'])
  await model('other', 'name: other\n', ['1'])
  return { root, gates, data }
}

const versions = (model: { versions: { version: string }[] }) => model.versions.map((v) => v.version)
const modelIn = (list: { models: { name: string }[] }, name: string) =>
  list.models.find((m) => m.name === name) as
    | { name: string; defaultVersion: string | null; versions: { version: string; workers: number }[] }
    | undefined

test('management API changes survive a SIGTERM and a start on the same repository', async (t) => {
  const { root, gates, data } = await repository(t)
  const serve = () =>
    spawnServe([root, '--port', '0', '--data-dir', data, '--log-level', 'info'], t, {
      env: { CARAFE_TEST_GATES: gates },
    })

  const first = await serve()
  const before = (await send('GET', `${first.url}/v1/admin/models`)).body
  assert.deepEqual(versions(modelIn(before, 'ver')!), ['3', '2'])
  assert.equal((await send('POST', `${first.url}/v1/admin/models/ver/load`, { version: 1 })).status, 200)
  assert.equal((await send('POST', `${first.url}/v1/admin/models/ver/unload`, { version: 3 })).status, 200)
  assert.equal((await send('PUT', `${first.url}/v1/admin/models/ver/default-version`, { version: 1 })).status, 200)
  const patched = await send('PATCH', `${first.url}/v1/admin/models/ver`, {
    workers: 2,
    batch: { maxSize: 4, maxDelayMs: 1 },
  })
  assert.equal(patched.status, 200, JSON.stringify(patched.body))
  assert.equal((await send('POST', `${first.url}/v1/admin/models/other/unload`)).status, 200)
  first.child.kill('SIGTERM')
  assert.equal(await first.exited, 0)

  const second = await serve()
  const after = (await send('GET', `${second.url}/v1/admin/models`)).body
  const ver = modelIn(after, 'ver')!
  assert.deepEqual(versions(ver), ['2', '1'], 'version 1 loaded on demand and version 3 unloaded stay so')
  assert.equal(ver.defaultVersion, '1')
  assert.ok(
    ver.versions.every((v) => v.workers === 2),
    JSON.stringify(ver.versions),
  )
  assert.deepEqual((await get(`${second.url}/v1/models/ver`)).body.batch, { maxSize: 4, maxDelayMs: 1 })
  const answer = await post(`${second.url}/v1/models/ver:predict`, { instances: [{ ms: 0 }] })
  assert.equal(answer.body.predictions[0].version, '1')
  assert.equal(modelIn(after, 'other'), undefined, 'the unloaded model did not load at start')
  assert.equal((await post(`${second.url}/v1/models/other:predict`, { instances: [{ ms: 0 }] })).status, 404)
  // the settings were the first ones used: no load with the old ones, then a swap
  assert.ok(!second.logs.some((l) => l.msg === 'model version draining: no new requests, in-flight ones finish'))

  // hot reload applies on top: a rescan keeps the changes, and what is loaded back is saved too
  assert.equal((await send('POST', `${second.url}/v1/admin/reload`)).status, 200)
  assert.deepEqual(versions(modelIn((await send('GET', `${second.url}/v1/admin/models`)).body, 'ver')!), ['2', '1'])
  assert.equal((await send('POST', `${second.url}/v1/admin/models/other/load`)).status, 200)
  const saved = JSON.parse(await readFile(join(data, 'admin-state.json'), 'utf8'))
  assert.deepEqual(saved.models, {
    ver: {
      unloadedVersions: ['3'],
      extraVersions: ['1'],
      defaultVersion: '1',
      settings: { workers: 2, batch: { maxSize: 4, maxDelayMs: 1 } },
    },
  })
  // a reset forgets them: the version policy, the highest version as default, the configured settings
  const reset = await send('POST', `${second.url}/v1/admin/models/ver/reset`)
  assert.equal(reset.status, 200, JSON.stringify(reset.body))
  assert.deepEqual(versions(reset.body), ['3', '2'])
  assert.equal(reset.body.defaultVersion, '3')
  assert.ok(
    reset.body.versions.every((v: { workers: number }) => v.workers === 1),
    JSON.stringify(reset.body),
  )
  assert.deepEqual(JSON.parse(await readFile(join(data, 'admin-state.json'), 'utf8')).models, {})
  assert.equal((await send('POST', `${second.url}/v1/admin/models/nope/reset`)).status, 404)
  second.child.kill('SIGTERM')
  assert.equal(await second.exited, 0)
})

test('a corrupt or stale admin state file does not stop the server; an unwritable one costs one warning', async (t) => {
  const { root, data } = await repository(t)
  const path = join(data, 'admin-state.json')

  await writeFile(path, '{"format": 1, "models": {"ver": {"unloaded": tru')
  const corrupt = await startServer(root, { t, config: { dataDir: data, repositoryPollMs: 0 } })
  const line = corrupt.logs.find(
    (l) => l.msg === 'admin state file is corrupt: ignored, starting with the repository defaults',
  )
  assert.ok(line, 'one clear log line')
  assert.equal(line.path, path)
  assert.deepEqual(versions(modelIn((await send('GET', `${corrupt.url}/v1/admin/models`)).body, 'ver')!), ['3', '2'])
  assert.ok(
    (await readdir(data)).some((f) => f.startsWith('admin-state.json.corrupt-')),
    'kept aside for a look',
  )
  await corrupt.close()

  // a model that is gone, a version folder that is gone, a default that is not served: dropped, the rest applies
  await writeFile(
    path,
    JSON.stringify({
      format: 1,
      models: {
        gone: { unloaded: true },
        ver: { unloadedVersions: ['9', '2'], extraVersions: ['8'], defaultVersion: '7' },
      },
    }),
  )
  const stale = await startServer(root, { t, config: { dataDir: data, repositoryPollMs: 0 } })
  const dropped = stale.logs.filter((l) => String(l.msg).startsWith('admin state: saved change dropped'))
  assert.deepEqual(
    dropped.map((l) => [l.model, l.unloadedVersion ?? l.extraVersion ?? l.defaultVersion ?? null]),
    [
      ['gone', null],
      ['ver', '9'],
      ['ver', '8'],
      ['ver', '7'],
    ],
  )
  assert.deepEqual(versions(modelIn((await send('GET', `${stale.url}/v1/admin/models`)).body, 'ver')!), ['3'])
  assert.deepEqual(JSON.parse(await readFile(path, 'utf8')).models, { ver: { unloadedVersions: ['2'] } })
  await stale.close()

  // a location that cannot be written (its folder is a file): the changes work in memory, one warning
  const blocker = join(data, 'not-a-dir')
  await writeFile(blocker, '')
  const memory = await startServer(root, {
    t,
    config: { adminStateFile: join(blocker, 'state.json'), repositoryPollMs: 0 },
  })
  assert.equal((await send('POST', `${memory.url}/v1/admin/models/ver/unload`, { version: 2 })).status, 200)
  assert.equal((await send('PUT', `${memory.url}/v1/admin/models/ver/default-version`, { version: 3 })).status, 200)
  const warnings = memory.logs.filter((l) => String(l.msg).startsWith('admin state file cannot be written'))
  assert.equal(warnings.length, 1)
  assert.deepEqual(versions(modelIn((await send('GET', `${memory.url}/v1/admin/models`)).body, 'ver')!), ['3'])
})
