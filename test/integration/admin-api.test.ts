import assert from 'node:assert/strict'
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fixture } from '../helpers/paths.js'
import { runCli } from '../helpers/cli.js'
import { get, post, startServer } from '../helpers/server.js'

const KEY = { authorization: 'Bearer admin-test-key-0123456789' }

async function send(method: string, url: string, body?: unknown, headers: Record<string, string> = KEY) {
  const response = await fetch(url, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  return { status: response.status, body: text ? JSON.parse(text) : undefined }
}

test('management API: list, load, unload, reload, default version, workers and batching, errors', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'carafe-admin-'))
  const gates = await mkdtemp(join(tmpdir(), 'carafe-gates-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  t.after(() => rm(gates, { recursive: true, force: true }))
  process.env.CARAFE_TEST_GATES = gates
  await mkdir(join(root, 'ver'))
  await writeFile(join(root, 'ver', 'carafe.yaml'), 'name: ver\nversionPolicy: { latest: 2 }\n')
  for (const v of ['1', '2', '3']) {
    await writeFile(join(gates, `gate-${v}`), '')
    await mkdir(join(root, 'ver', v))
    await copyFile(join(fixture('versioned'), 'model.mjs'), join(root, 'ver', v, 'model.mjs'))
  }
  // version 3 exists but the policy serves 2 and 3... latest 2: so 3 and 2; version 1 only on demand
  const { url } = await startServer(root, {
    t,
    config: { apiKeys: ['admin-test-key-0123456789'], repositoryPollMs: 0 },
  })
  const predict = async (path = 'ver') =>
    (await post(`${url}/v1/models/${path}:predict`, { instances: [{ ms: 0 }] }, KEY)).body?.predictions?.[0]?.version

  // without a key: 401 on every admin route
  for (const [method, path] of [
    ['GET', '/v1/admin/models'],
    ['POST', '/v1/admin/reload'],
    ['POST', '/v1/admin/models/ver/load'],
    ['POST', '/v1/admin/models/ver/unload'],
    ['POST', '/v1/admin/models/ver/reload'],
    ['PUT', '/v1/admin/models/ver/default-version'],
    ['PATCH', '/v1/admin/models/ver'],
    ['POST', '/v1/admin/models/ver/reset'],
  ]) {
    const r = await send(method, `${url}${path}`, method === 'GET' ? undefined : {}, {})
    assert.equal(r.status, 401, `${method} ${path}`)
    assert.equal(r.body.error.code, 'UNAUTHORIZED')
  }

  const listed = await send('GET', `${url}/v1/admin/models`)
  assert.equal(listed.status, 200)
  assert.deepEqual(
    listed.body.models[0].versions.map((v: { version: string }) => v.version),
    ['3', '2'],
  )
  assert.equal(listed.body.models[0].defaultVersion, '3')

  // load a version outside the policy, then unload it
  const loaded = await send('POST', `${url}/v1/admin/models/ver/load`, { version: 1 })
  assert.equal(loaded.status, 200, JSON.stringify(loaded.body))
  assert.deepEqual(
    loaded.body.versions.map((v: { version: string }) => v.version),
    ['3', '2', '1'],
  )
  assert.equal(await predict('ver/versions/1'), '1')
  const unloaded = await send('POST', `${url}/v1/admin/models/ver/unload`, { version: '1' })
  assert.equal(unloaded.status, 200)
  assert.deepEqual(
    unloaded.body.versions.map((v: { version: string }) => v.version),
    ['3', '2'],
  )
  const gone = await post(`${url}/v1/models/ver/versions/1:predict`, { instances: [{ ms: 0 }] }, KEY)
  assert.equal(gone.body.error.code, 'VERSION_NOT_FOUND')
  // an explicit rescan does not bring back what was unloaded
  assert.equal((await send('POST', `${url}/v1/admin/reload`)).status, 200)
  assert.equal((await get(`${url}/v1/models/ver`, KEY)).body.versions.length, 2)

  // default version
  assert.equal(await predict(), '3')
  const setDefault = await send('PUT', `${url}/v1/admin/models/ver/default-version`, { version: 2 })
  assert.equal(setDefault.status, 200)
  assert.equal(setDefault.body.defaultVersion, '2')
  assert.equal(await predict(), '2')

  // workers and batching at run time: a replacement with the new settings takes over
  const patched = await send('PATCH', `${url}/v1/admin/models/ver`, {
    workers: 2,
    batch: { maxSize: 4, maxDelayMs: 1 },
  })
  assert.equal(patched.status, 200, JSON.stringify(patched.body))
  assert.ok(patched.body.versions.every((v: { workers: number }) => v.workers === 2))
  assert.deepEqual((await get(`${url}/v1/models/ver`, KEY)).body.batch, { maxSize: 4, maxDelayMs: 1 })
  assert.equal(await predict(), '2', 'the default version survives the swap')

  // reload a model from its folder
  const reloaded = await send('POST', `${url}/v1/admin/models/ver/reload`)
  assert.equal(reloaded.status, 200)
  assert.equal(reloaded.body.versions.length, 2)

  // unload the whole model, load it back
  assert.equal((await send('POST', `${url}/v1/admin/models/ver/unload`)).status, 200)
  assert.equal((await post(`${url}/v1/models/ver:predict`, { instances: [{ ms: 0 }] }, KEY)).status, 404)
  const back = await send('POST', `${url}/v1/admin/models/ver/load`)
  assert.equal(back.status, 200, JSON.stringify(back.body))
  assert.equal(await predict(), '3')

  // clear 4xx for unknown models, versions and bad bodies
  const cases: [string, string, unknown, number, string][] = [
    ['POST', '/v1/admin/models/nope/load', undefined, 404, 'MODEL_NOT_FOUND'],
    ['POST', '/v1/admin/models/nope/unload', undefined, 404, 'MODEL_NOT_FOUND'],
    ['POST', '/v1/admin/models/nope/reload', undefined, 404, 'MODEL_NOT_FOUND'],
    ['POST', '/v1/admin/models/nope/reset', undefined, 404, 'MODEL_NOT_FOUND'],
    ['PATCH', '/v1/admin/models/nope', { workers: 1 }, 404, 'MODEL_NOT_FOUND'],
    ['PUT', '/v1/admin/models/nope/default-version', { version: 1 }, 404, 'MODEL_NOT_FOUND'],
    ['POST', '/v1/admin/models/ver/load', { version: 9 }, 404, 'VERSION_NOT_FOUND'],
    ['POST', '/v1/admin/models/ver/unload', { version: 9 }, 404, 'VERSION_NOT_FOUND'],
    ['PUT', '/v1/admin/models/ver/default-version', { version: 9 }, 404, 'VERSION_NOT_FOUND'],
    ['PUT', '/v1/admin/models/ver/default-version', { version: 'x' }, 400, 'INVALID_INPUT'],
    ['PUT', '/v1/admin/models/ver/default-version', {}, 400, 'INVALID_INPUT'],
    ['PATCH', '/v1/admin/models/ver', {}, 400, 'INVALID_INPUT'],
    ['PATCH', '/v1/admin/models/ver', { workers: 0 }, 400, 'INVALID_INPUT'],
    ['PATCH', '/v1/admin/models/ver', { isolation: 'process' }, 400, 'INVALID_INPUT'],
    ['POST', '/v1/admin/models/ver/load', { version: -1 }, 400, 'INVALID_INPUT'],
  ]
  for (const [method, path, body, status, code] of cases) {
    const r = await send(method, `${url}${path}`, body)
    assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`)
    assert.equal(r.body.error.code, code, `${method} ${path}`)
  }
})

test('management API: a broken version answers 422 MODEL_LOAD_FAILED, memoryBudgetMb answers 507', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'carafe-admin-'))
  const gates = await mkdtemp(join(tmpdir(), 'carafe-gates-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  t.after(() => rm(gates, { recursive: true, force: true }))
  process.env.CARAFE_TEST_GATES = gates
  await writeFile(join(gates, 'gate-1'), '')
  await mkdir(join(root, 'ver', '1'), { recursive: true })
  await writeFile(join(root, 'ver', 'carafe.yaml'), 'name: ver\n')
  await copyFile(join(fixture('versioned'), 'model.mjs'), join(root, 'ver', '1', 'model.mjs'))
  const server = await startServer(join(root, 'ver'), { t, config: { repositoryPollMs: 0 } })
  await mkdir(join(root, 'ver', '2'))
  await writeFile(join(root, 'ver', '2', 'model.onnx'), 'not onnx')
  const broken = await send('POST', `${server.url}/v1/admin/models/ver/load`, { version: 2 }, {})
  assert.equal(broken.status, 422, JSON.stringify(broken.body))
  assert.equal(broken.body.error.code, 'MODEL_LOAD_FAILED')
  assert.match(broken.body.error.message, /version 2/)
  const answer = await post(`${server.url}/v1/models/ver:predict`, { instances: [{ ms: 0 }] })
  assert.equal(answer.body.predictions[0].version, '1')
  const listed = await send('GET', `${server.url}/v1/admin/models`, undefined, {})
  assert.equal(listed.body.models[0].loadError.version, '2')

  // a budget below what the process already uses: every load is refused, what serves keeps serving
  await rm(join(root, 'ver', '2'), { recursive: true })
  const tight = await startServer(join(root, 'ver'), { t, config: { repositoryPollMs: 0, memoryBudgetMb: 1 } })
  const refused = await send('POST', `${tight.url}/v1/admin/models/ver/reload`, undefined, {})
  assert.equal(refused.status, 507, JSON.stringify(refused.body))
  assert.equal(refused.body.error.code, 'MEMORY_BUDGET_EXCEEDED')
  assert.equal(refused.body.error.details[0].budgetMb, 1)
  const still = await post(`${tight.url}/v1/models/ver:predict`, { instances: [{ ms: 0 }] })
  assert.equal(still.body.predictions[0].version, '1')
})

test('carafe models list|load|unload|reload|reset against a running server', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'carafe-admin-'))
  const gates = await mkdtemp(join(tmpdir(), 'carafe-gates-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  t.after(() => rm(gates, { recursive: true, force: true }))
  process.env.CARAFE_TEST_GATES = gates
  await mkdir(join(root, 'ver'))
  await writeFile(join(root, 'ver', 'carafe.yaml'), 'name: ver\n')
  for (const v of ['1', '2']) {
    await writeFile(join(gates, `gate-${v}`), '')
    await mkdir(join(root, 'ver', v))
    await copyFile(join(fixture('versioned'), 'model.mjs'), join(root, 'ver', v, 'model.mjs'))
  }
  const key = 'admin-test-key-0123456789'
  const { url } = await startServer(root, { t, config: { apiKeys: [key], repositoryPollMs: 0 } })
  const env = { CARAFE_TEST_GATES: gates }
  const cli = (...args: string[]) => runCli(['models', ...args, '--url', url, '--api-key', key], { env })
  const versions = (stdout: string) =>
    (JSON.parse(stdout).versions ?? JSON.parse(stdout).models[0].versions).map((v: { version: string }) => v.version)

  const list = await cli('list')
  assert.equal(list.code, 0, list.stderr)
  assert.deepEqual(versions(list.stdout), ['2'])
  const load = await cli('load', 'ver', '--model-version', '1')
  assert.equal(load.code, 0, load.stderr)
  assert.deepEqual(versions(load.stdout), ['2', '1'])
  const unload = await cli('unload', 'ver', '--model-version', '2')
  assert.equal(unload.code, 0, unload.stderr)
  assert.deepEqual(versions(unload.stdout), ['1'])
  const reload = await cli('reload', 'ver')
  assert.equal(reload.code, 0, reload.stderr)
  const reset = await cli('reset', 'ver')
  assert.equal(reset.code, 0, reset.stderr)
  assert.deepEqual(versions(reset.stdout), ['2'], 'back to the version policy')
  assert.equal((await cli('reload')).code, 0)
  const unknown = await cli('load', 'nope')
  assert.equal(unknown.code, 1)
  assert.match(unknown.stderr, /404 MODEL_NOT_FOUND/)
  const noKey = await runCli(['models', 'list', '--url', url], { env })
  assert.equal(noKey.code, 1)
  assert.match(noKey.stderr, /401 UNAUTHORIZED/)
})
