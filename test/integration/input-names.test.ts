import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadAll } from '../../src/http/index.js'
import { modelDir } from '../helpers/model-dir.js'
import { example } from '../helpers/paths.js'
import { get, startServer } from '../helpers/server.js'

const NAMES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width']

test('carafe.yaml inputNames name the values of an array instance: model schema, OpenAPI', async (t) => {
  const server = await startServer(example('iris'), { t })
  const model = (await get(`${server.url}/v1/models/iris`)).body
  assert.deepEqual(model.input['x-carafe-names'], NAMES)
  assert.equal(model.input.type, 'array', 'clients still send a plain array')
  const doc = (await get(`${server.url}/openapi.json`)).body
  assert.match(
    doc.components.schemas['iris.Instance'].description,
    /sepal_length, sepal_width, petal_length, petal_width/,
  )
})

test('carafe.yaml inputNames that do not fit the instance stop the load with a line naming the key', async (t) => {
  const onnx = await readFile(join(example('iris'), '1', 'model.onnx'))
  const wrongCount = await modelDir({ 'carafe.yaml': 'inputNames: [a, b, c]\n', '1/model.onnx': onnx }, t)
  await assert.rejects(
    loadAll([wrongCount]),
    /inputNames: 3 names need an instance that is an array of exactly 3 values/,
  )
  const twice = await modelDir({ 'carafe.yaml': 'inputNames: [a, b, a, d]\n', '1/model.onnx': onnx }, t)
  await assert.rejects(loadAll([twice]), /inputNames: "a" is named twice/)
  const empty = await modelDir({ 'carafe.yaml': 'inputNames: [a, "", c, d]\n', '1/model.onnx': onnx }, t)
  await assert.rejects(loadAll([empty]), /inputNames/)
})
