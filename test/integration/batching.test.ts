import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadAll } from '../../src/http/index.js'
import { get, post, startServer } from '../helpers/server.js'
import { modelDir } from '../helpers/model-dir.js'
import { example, fixture } from '../helpers/paths.js'

const randomImage = () => Array.from({ length: 256 }, () => Math.round(Math.random() * 1000) / 1000)

test('batched answers equal unbatched ones (mlp ONNX, random inputs); the batch histogram shows the batching', async (t) => {
  const [descriptor] = await loadAll([example('mlp')])
  descriptor.batch = { maxSize: 64, maxDelayMs: 100 }
  const { url } = await startServer([descriptor], { t })
  const inputs = Array.from({ length: 24 }, randomImage)
  // all at once, first: a fresh batcher waits its window for company, so they share batches (after the lone requests
  // below it would have learnt that requests do not overlap, and batch only what queues while a run is under way)
  const together = await Promise.all(inputs.map((x) => post(`${url}/v1/models/mlp:predict`, { instances: [x] })))
  // one at a time: every batch holds one request
  const alone = []
  for (const x of inputs)
    alone.push((await post(`${url}/v1/models/mlp:predict`, { instances: [x] })).body.predictions[0])
  const { stats } = (await get(`${url}/v1/models/mlp`)).body
  const sizes = Object.keys(stats.batchSizes).map(Number)
  assert.ok(
    sizes.some((s) => s > 1),
    `no batch larger than 1: ${JSON.stringify(stats.batchSizes)}`,
  )
  for (let i = 0; i < inputs.length; i++) {
    assert.equal(together[i].status, 200)
    // batched GEMM may round differently in the last bits, never more
    assertClose(together[i].body.predictions[0], alone[i])
  }
})

test('a handler sees one call with several requests, each gets its own slice; a request with several instances counts its rows', async (t) => {
  const [descriptor] = await loadAll([join(fixture('handlers'), 'echo.ts')])
  descriptor.batch = { maxSize: 16, maxDelayMs: 100 }
  const { url } = await startServer([descriptor], { t })
  const answers = await Promise.all(
    [[1], [2, 3], [4]].map((xs) => post(`${url}/v1/models/echo:predict`, { instances: xs.map((x) => ({ x })) })),
  )
  assert.deepEqual(
    answers.map((a) => a.body.predictions.map((p: { y: number }) => p.y)),
    [[2], [4, 6], [8]],
  )
  const seen = answers.flatMap((a) => a.body.predictions.map((p: { batchSize: number }) => p.batchSize))
  assert.ok(
    seen.some((size) => size > 1),
    `the handler never saw a batch: ${seen}`,
  )
})

test('a batch in which one item makes the model fail fails only that item', async (t) => {
  const { url } = await startServer(join(fixture('handlers'), 'fails-negative.ts'), { t })
  const answers = await Promise.all(
    [1, 2, -1, 3].map((x) => post(`${url}/v1/models/fails-negative:predict`, { instances: [x] })),
  )
  assert.deepEqual(
    answers.map((a) => a.status),
    [200, 200, 500, 200],
  )
  assert.equal(answers[2].body.error.code, 'PREDICTION_FAILED')
  assert.deepEqual(
    answers.filter((a) => a.status === 200).map((a) => a.body.predictions[0].y),
    [2, 4, 6],
  )
})

function assertClose(actual: unknown, expected: unknown, path = ''): void {
  if (typeof expected === 'number') {
    assert.ok(
      typeof actual === 'number' && Math.abs(actual - expected) <= 1e-5 * Math.max(1, Math.abs(expected)),
      `${path}: ${actual} != ${expected}`,
    )
  } else if (expected && typeof expected === 'object') {
    for (const key of Object.keys(expected)) assertClose((actual as any)[key], (expected as any)[key], `${path}/${key}`)
  } else assert.deepEqual(actual, expected, path)
}

test('a bare ONNX file with a dynamic batch dimension batches without any configuration', async (t) => {
  const [descriptor] = await loadAll([join(example('iris'), '1', 'model.onnx')])
  const { url } = await startServer([descriptor], { t })
  const described = (await get(`${url}/v1/models/model`)).body
  assert.deepEqual(described.batch, { maxSize: 64, maxDelayMs: 1 })
  // 64 clients at once: while one batch runs the others queue, and the next batch takes them together
  const answers = await Promise.all(
    Array.from({ length: 64 }, () => post(`${url}/v1/models/model:predict`, { instances: [[5.1, 3.5, 1.4, 0.2]] })),
  )
  for (const answer of answers) assert.equal(answer.status, 200)
  const { stats } = (await get(`${url}/v1/models/model`)).body
  const sizes = Object.keys(stats.batchSizes).map(Number)
  assert.ok(
    sizes.some((s) => s > 1),
    `no batch larger than 1: ${JSON.stringify(stats.batchSizes)}`,
  )
})

test('batch: false in carafe.yaml or in the server config turns the default batching off', async (t) => {
  const onnx = readFileSync(join(example('iris'), '1', 'model.onnx'))
  const dir = await modelDir({ 'carafe.yaml': 'name: plain\nbatch: false\n', '1/model.onnx': onnx }, t)
  const [fromYaml] = await loadAll([dir])
  assert.deepEqual(fromYaml!.batch, { maxSize: 1, maxDelayMs: 0 })
  const { url } = await startServer(await loadAll([join(example('iris'), '1', 'model.onnx')]), {
    t,
    config: { models: { model: { batch: false } } },
  })
  assert.deepEqual((await get(`${url}/v1/models/model`)).body.batch, { maxSize: 1, maxDelayMs: 0 })
})
