import assert from 'node:assert/strict'
import { test } from 'node:test'
import { UI_ASSET_NAMES } from '../../src/ui/index.js'
import { example } from '../helpers/paths.js'
import { assertNoStack, get, startServer } from '../helpers/server.js'

test('GET / lists models with name, description, version, state and a playground link', async (t) => {
  const server = await startServer([example('iris'), example('mlp')], { t })
  const page = await get(server.url + '/')
  assert.equal(page.status, 200)
  assert.match(page.headers.get('content-type') ?? '', /text\/html/)
  for (const name of ['iris', 'mlp']) assert.ok(page.text.includes(`href="/ui/models/${name}"`), name)
  assert.match(page.text, /Iris species/)
  assert.match(page.text, /state-ready/)
  assert.doesNotMatch(page.text, /https?:\/\//, 'no external URL in the page')
})

test('GET /ui/models/{name} returns the shell at once; unknown names and assets get the envelope', async (t) => {
  const server = await startServer(example('iris'), { t })
  const page = await get(server.url + '/ui/models/iris')
  assert.equal(page.status, 200)
  assert.match(page.text, /data-model="iris"/)
  assert.match(page.text, /<script type="module" src="\/ui\/assets\/playground.js">/)
  for (const asset of UI_ASSET_NAMES) {
    const response = await get(server.url + '/ui/assets/' + asset)
    assert.equal(response.status, 200, asset)
    // the SVG namespace is a name, never fetched
    assert.doesNotMatch(
      response.text.replaceAll('http://www.w3.org/2000/svg', ''),
      /https?:\/\//,
      `${asset} refers to no external URL`,
    )
  }
  const missing = await get(server.url + '/ui/models/nope')
  assert.equal(missing.status, 404)
  assert.equal(missing.body.error.code, 'MODEL_NOT_FOUND')
  const noAsset = await get(server.url + '/ui/assets/..%2Fpages.js')
  assert.equal(noAsset.status, 404)
  assertNoStack(noAsset.text)
})

test('GET /favicon.ico answers an icon (no 404 on every page), and the pages link it', async (t) => {
  const server = await startServer(example('iris'), { t })
  const icon = await get(server.url + '/favicon.ico')
  assert.equal(icon.status, 200)
  assert.equal(icon.headers.get('content-type'), 'image/svg+xml')
  assert.match(icon.text, /^<svg /)
  for (const path of ['/', '/ui/models/iris'])
    assert.match((await get(server.url + path)).text, /<link rel="icon" href="\/ui\/assets\/favicon.svg"/, path)
})
