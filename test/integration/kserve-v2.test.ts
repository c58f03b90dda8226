import assert from 'node:assert/strict'
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it, test } from 'node:test'
import { example, fixture } from '../helpers/paths.js'
import { assertNoStack, get, post, startServer, type TestServer } from '../helpers/server.js'

describe('KServe V2 Open Inference Protocol', () => {
  let server: TestServer
  before(async () => {
    server = await startServer([example('iris'), join(example('mlp'), '1', 'model.onnx'), fixture('handlers/echo.ts')])
  })
  after(() => server.close())

  it('server and model metadata, health', async () => {
    assert.equal((await get(`${server.url}/v2`)).body.name, 'carafe')
    assert.equal((await get(`${server.url}/v2/health/live`)).status, 200)
    assert.equal((await get(`${server.url}/v2/health/ready`)).body.ready, true)
    assert.equal((await get(`${server.url}/v2/models/iris/ready`)).body.ready, true)
    const meta = (await get(`${server.url}/v2/models/iris`)).body
    // carafe.yaml inputNames name the columns of the one input, in the tensor's parameters (as MLServer's metadata has)
    const names = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width']
    assert.deepEqual(meta.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, 4], parameters: { names } }])
    assert.deepEqual(meta.versions, ['1'])
  })

  it('infers from a flat row-major tensor, matching the V1 answer', async () => {
    const rows = [
      [5.1, 3.5, 1.4, 0.2],
      [6.7, 3.0, 5.2, 2.3],
    ]
    const v2 = await post(`${server.url}/v2/models/iris/versions/1/infer`, {
      id: 'r1',
      inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: rows.flat() }],
    })
    assert.equal(v2.status, 200, v2.text)
    assert.equal(v2.body.id, 'r1')
    const labels = v2.body.outputs.find((o: { name: string }) => o.name === 'label')
    assert.deepEqual(labels.data, ['setosa', 'virginica'])
    const v1 = await post(`${server.url}/v1/models/iris:predict`, { instances: rows })
    const probs = v2.body.outputs.find((o: { name: string }) => o.name === 'probabilities')
    assert.deepEqual(probs.shape, [2, 3])
    assert.deepEqual(probs.data.slice(0, 3), Object.values(v1.body.predictions[0].probabilities))
  })

  it('a bare ONNX model answers tensors by output name', async () => {
    const data = Array.from({ length: 2 * 256 }, (_, i) => (i % 7) / 7)
    const answer = await post(`${server.url}/v2/models/model/infer`, {
      inputs: [{ name: 'input', shape: [2, 256], datatype: 'FP32', data }],
    })
    assert.equal(answer.status, 200, answer.text)
    assert.deepEqual(answer.body.outputs[0].shape, [2, 10])
    assert.equal(answer.body.outputs[0].data.length, 20)
  })

  it('refuses bad tensors with INVALID_INPUT, unknown versions with VERSION_NOT_FOUND', async () => {
    const cases = [
      { inputs: [] },
      { inputs: [{ name: 'wrong', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] },
      { inputs: [{ name: 'input', shape: [1, 4], datatype: 'INT64', data: [1, 2, 3, 4] }] },
      { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3] }] },
      { inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] },
      { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 'x'] }] },
      { inputs: [{ name: 'input', shape: [-1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] },
    ]
    for (const body of cases) {
      const answer = await post(`${server.url}/v2/models/iris/infer`, body)
      assert.equal(answer.status, 400, `${JSON.stringify(body)} → ${answer.text}`)
      assert.equal(answer.body.code, 'INVALID_INPUT')
      assertNoStack(answer.text)
    }
    const version = await post(`${server.url}/v2/models/iris/versions/7/infer`, {
      inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }],
    })
    assert.equal(version.status, 404)
    assert.equal(version.body.code, 'VERSION_NOT_FOUND')
    const handler = await post(`${server.url}/v2/models/echo/infer`, {
      inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }],
    })
    assert.equal(handler.status, 400)
    assert.match(handler.body.error, /:predict/)
  })
})

test('V2 health: a model or server that is not ready answers 400 with ready: false (200 true, 4xx false), /readyz 503', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'carafe-v2-ready-'))
  const gates = await mkdtemp(join(tmpdir(), 'carafe-gates-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  t.after(() => rm(gates, { recursive: true, force: true }))
  process.env.CARAFE_TEST_GATES = gates
  await mkdir(join(root, '1'), { recursive: true })
  await writeFile(join(root, 'carafe.yaml'), 'name: ver\n')
  await copyFile(join(fixture('versioned'), 'model.mjs'), join(root, '1', 'model.mjs'))
  // its setup waits for the gate: the model is loading until the test opens it
  const server = await startServer(root, { t, waitReady: false, config: { repositoryPollMs: 0 } })
  for (const path of ['/v2/models/ver/ready', '/v2/models/ver/versions/1/ready']) {
    const loading = await get(`${server.url}${path}`)
    assert.equal(loading.status, 400, path)
    assert.deepEqual(loading.body, { name: 'ver', ready: false })
  }
  const serverReady = await get(`${server.url}/v2/health/ready`)
  assert.equal(serverReady.status, 400)
  assert.deepEqual(serverReady.body, { ready: false })
  assert.equal((await get(`${server.url}/readyz`)).status, 503, 'the load-balancer probe keeps its 503')
  await writeFile(join(gates, 'gate-1'), '')
  await server.carafe.started
  assert.equal((await get(`${server.url}/v2/models/ver/ready`)).status, 200)
  assert.equal((await get(`${server.url}/v2/health/ready`)).status, 200)
})
