import assert from 'node:assert/strict'
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { spawnServe } from '../helpers/cli.js'
import { fixture } from '../helpers/paths.js'
import { get, post, startServer } from '../helpers/server.js'

const MODEL = join(fixture('versioned'), 'model.mjs')
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A repository with one model folder `ver`, version folders copied from the fixture; gates in their own folder. */
async function repository(t: { after: (fn: () => Promise<void>) => void }, yaml = '') {
  const root = await mkdtemp(join(tmpdir(), 'carafe-repo-'))
  const gates = await mkdtemp(join(tmpdir(), 'carafe-gates-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  t.after(() => rm(gates, { recursive: true, force: true }))
  process.env.CARAFE_TEST_GATES = gates // read by the runners' setup (worker threads share the environment)
  await mkdir(join(root, 'ver'))
  await writeFile(join(root, 'ver', 'carafe.yaml'), `name: ver\n${yaml}`)
  const addVersion = async (v: string, extra: Record<string, string> = {}) => {
    await mkdir(join(root, 'ver', v))
    for (const [name, content] of Object.entries(extra)) await writeFile(join(root, 'ver', v, name), content)
    if (!extra['model.onnx']) await copyFile(MODEL, join(root, 'ver', v, 'model.mjs'))
  }
  const open = (v: string) => writeFile(join(gates, `gate-${v}`), '')
  return { root, addVersion, open }
}

/** Poll `fn` until it returns a truthy value; bounded (20 s), no timing asserted. */
async function until<T>(fn: () => Promise<T | undefined | false>, what: string): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = await fn()
    if (value) return value
    await sleep(50)
  }
  throw new Error(`gave up waiting for ${what}`)
}

const versionState = async (url: string, v: string) =>
  (await get(`${url}/v1/models/ver`)).body?.versions?.find((x: { version: string }) => x.version === v)?.state

test('a new version loads under load, takes traffic only once warm, and the removed one drains and unloads', async (t) => {
  const repo = await repository(t, 'versionPolicy: { latest: 2 }\n')
  await repo.open('1')
  await repo.addVersion('1')
  const server = await startServer(repo.root, { t, config: { repositoryPollMs: 100 } })
  const url = server.url

  // four clients in a loop for the whole test, each answer stamped with when it came back
  const answers: { status: number; version?: string; at: number }[] = []
  let running = true
  const clients = Array.from({ length: 4 }, async () => {
    while (running) {
      const r = await post(`${url}/v1/models/ver:predict`, { instances: [{ ms: 5 }] })
      answers.push({ status: r.status, version: r.body?.predictions?.[0]?.version, at: performance.now() })
    }
  })

  await repo.addVersion('2')
  await until(async () => (await versionState(url, '2')) === 'loading', 'version 2 loading')
  // loading: not reachable by name, and the default stays 1 while its setup waits on the gate
  const early = await post(`${url}/v1/models/ver/versions/2:predict`, { instances: [{ ms: 0 }] })
  assert.equal(early.status, 404)
  assert.equal(early.body.error.code, 'VERSION_NOT_FOUND')
  await sleep(300)
  const gateOpenedAt = performance.now()
  await repo.open('2')
  await until(async () => (await versionState(url, '2')) === 'ready', 'version 2 ready')
  await until(async () => answers.some((a) => a.version === '2'), 'traffic on version 2')
  assert.ok(
    answers.every((a) => a.version !== '2' || a.at > gateOpenedAt),
    'no answer from version 2 before its warm-up could end',
  )
  assert.ok(
    answers.some((a) => a.version === '1'),
    'version 1 served before the switch',
  )

  // side by side: both versions answer by name; the default is the highest
  const one = await post(`${url}/v1/models/ver/versions/1:predict`, { instances: [{ ms: 0 }] })
  const two = await post(`${url}/v2/models/ver/versions/2/infer`, { inputs: [] })
  assert.equal(one.status, 200)
  assert.equal(one.body.predictions[0].version, '1')
  assert.ok([400, 200].includes(two.status)) // a handler is V1-only over V2 infer; the version itself resolves
  assert.notEqual(two.body?.code, 'VERSION_NOT_FOUND')
  const listed = (await get(`${url}/v1/models`)).body.models.find((m: { name: string }) => m.name === 'ver')
  assert.deepEqual(
    listed.versions.map((v: { version: string; state: string; default: boolean }) => [v.version, v.state, v.default]),
    [
      ['2', 'ready', true],
      ['1', 'ready', false],
    ],
  )
  const ready = await get(`${url}/readyz`)
  assert.equal(ready.status, 200)
  assert.deepEqual(
    ready.body.details.models.ver.versions.map((v: { version: string }) => v.version),
    ['2', '1'],
  )

  // removing version 1 while a slow request runs on it: the request finishes, then its runners close
  const old = server.carafe.registry.get('ver', '1')
  const rssBefore = process.memoryUsage.rss()
  const inFlight = post(`${url}/v1/models/ver/versions/1:predict`, { instances: [{ ms: 1500 }] })
  await sleep(200)
  await rm(join(repo.root, 'ver', '1'), { recursive: true })
  const slow = await inFlight
  assert.equal(slow.status, 200, JSON.stringify(slow.body))
  assert.equal(slow.body.predictions[0].version, '1')
  await until(async () => (await versionState(url, '1')) === undefined, 'version 1 unloaded')
  await until(async () => old.state === 'stopped', 'version 1 runners closed')
  const gone = await post(`${url}/v1/models/ver/versions/1:predict`, { instances: [{ ms: 0 }] })
  assert.equal(gone.status, 404)
  assert.equal(gone.body.error.code, 'VERSION_NOT_FOUND')
  await until(
    async () => server.logs.some((l) => l.msg === 'model version unloaded: runners closed' && l.version === '1'),
    'the unload log line',
  )
  t.diagnostic(
    `RSS before removing version 1: ${Math.round(rssBefore / 2 ** 20)} MB, after: ${Math.round(process.memoryUsage.rss() / 2 ** 20)} MB (test process and server share it)`,
  )

  running = false
  await Promise.all(clients)
  const failed = answers.filter((a) => a.status !== 200)
  assert.equal(failed.length, 0, `failed requests during the switch: ${JSON.stringify(failed.slice(0, 5))}`)
  t.diagnostic(`${answers.length} requests during the test, all 200`)
})

test('a broken new version (setup throws, corrupt ONNX) leaves the old one serving and says why everywhere', async (t) => {
  const repo = await repository(t)
  await repo.open('1')
  await repo.addVersion('1')
  const server = await startServer(repo.root, { t, config: { repositoryPollMs: 100 } })
  const url = server.url

  await repo.addVersion('2', { broken: '' })
  const listed = await until(async () => {
    const model = (await get(`${url}/v1/models`)).body.models.find((m: { name: string }) => m.name === 'ver')
    return model?.loadError?.version === '2' && model
  }, 'the load error of version 2')
  assert.match(listed.loadError.error, /setup of version 2 failed on purpose/)
  assert.equal(listed.version, '1')
  const answer = await post(`${url}/v1/models/ver:predict`, { instances: [{ ms: 0 }] })
  assert.equal(answer.status, 200)
  assert.equal(answer.body.predictions[0].version, '1')
  const ready = await get(`${url}/readyz`)
  assert.equal(ready.status, 200, 'a failed reload does not take the replica out of rotation')
  assert.match(ready.body.details.models.ver.loadError.error, /failed on purpose/)
  assert.ok(server.logs.some((l) => l.msg?.toString().startsWith('model load failed') && l.version === '2'))
  const metrics = await get(`${url}/metrics`)
  assert.match(metrics.text, /carafe_model_load_errors_total\{model="ver"\} 1/)

  await repo.addVersion('3', { 'model.onnx': 'this is not an ONNX protobuf' })
  const corrupt = await until(async () => {
    const model = (await get(`${url}/v1/models/ver`)).body
    return model?.loadError?.version === '3' && model
  }, 'the load error of version 3')
  assert.match(corrupt.loadError.error, /model\.onnx/)
  assert.equal(corrupt.version, '1')
  assert.deepEqual(
    corrupt.versions.map((v: { version: string }) => v.version),
    ['1'],
  )
  const still = await post(`${url}/v1/models/ver:predict`, { instances: [{ ms: 0 }] })
  assert.equal(still.body.predictions[0].version, '1')
  assert.match((await get(`${url}/metrics`)).text, /carafe_model_load_errors_total\{model="ver"\} 2/)
})

test('a job sent to a version runs on that version and keeps it in its record', async (t) => {
  const repo = await repository(t, 'versionPolicy: { latest: 2 }\n')
  for (const v of ['1', '2']) {
    await repo.open(v)
    await repo.addVersion(v)
  }
  const { url } = await startServer(repo.root, { t, config: { repositoryPollMs: 0 } })
  const submitted = await post(
    `${url}/v1/models/ver/versions/1/jobs`,
    { instances: [{ ms: 0 }] },
    { prefer: 'wait=10' },
  )
  assert.equal(submitted.status, 201, JSON.stringify(submitted.body))
  assert.equal(submitted.body.version, '1')
  assert.equal(submitted.body.result.predictions[0].version, '1')
  const plain = await post(`${url}/v1/models/ver/jobs`, { instances: [{ ms: 0 }] }, { prefer: 'wait=10' })
  assert.equal(plain.body.result.predictions[0].version, '2')
  const unknown = await post(`${url}/v1/models/ver/versions/9/jobs`, { instances: [{ ms: 0 }] })
  assert.equal(unknown.status, 404)
  assert.equal(unknown.body.error.code, 'VERSION_NOT_FOUND')
})

test('carafe serve rescans the repository on SIGHUP (watching off)', async (t) => {
  const repo = await repository(t)
  await repo.open('1')
  await repo.open('2')
  await repo.addVersion('1')
  const served = await spawnServe([repo.root, '--port', '0'], t, {
    env: { CARAFE_REPOSITORY_POLL_MS: '0', CARAFE_TEST_GATES: process.env.CARAFE_TEST_GATES ?? '' },
  })
  await repo.addVersion('2')
  await sleep(300)
  assert.equal(await versionState(served.url, '2'), undefined, 'not watching: nothing loads by itself')
  served.child.kill('SIGHUP')
  await until(async () => (await versionState(served.url, '2')) === 'ready', 'version 2 after SIGHUP')
  const answer = await post(`${served.url}/v1/models/ver:predict`, { instances: [{ ms: 0 }] })
  assert.equal(answer.body.predictions[0].version, '2')
  await until(async () => (await versionState(served.url, '1')) === undefined, 'version 1 unloaded (policy latest)')
})

test('a changed carafe.yaml reloads the model: the new copy takes over once warm, no request fails', async (t) => {
  const repo = await repository(t, 'description: first\n')
  await repo.open('1')
  await repo.addVersion('1')
  const { url, carafe } = await startServer(repo.root, { t, config: { repositoryPollMs: 100 } })
  const before = carafe.registry.get('ver')
  const statuses: number[] = []
  let running = true
  const clients = Array.from({ length: 2 }, async () => {
    while (running) statuses.push((await post(`${url}/v1/models/ver:predict`, { instances: [{ ms: 5 }] })).status)
  })
  await writeFile(join(repo.root, 'ver', 'carafe.yaml'), 'name: ver\ndescription: second\nworkers: 2\n')
  const described = await until(async () => {
    const body = (await get(`${url}/v1/models/ver`)).body
    return body?.description === 'second' && body
  }, 'the new carafe.yaml served')
  assert.equal(described.workers, 2)
  await until(async () => before.state === 'stopped', 'the old copy drained and stopped')
  running = false
  await Promise.all(clients)
  assert.ok(statuses.length > 0)
  assert.deepEqual(
    statuses.filter((s) => s !== 200),
    [],
  )
})
