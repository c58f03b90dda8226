import assert from 'node:assert/strict'
import { gzipSync } from 'node:zlib'
import { test } from 'node:test'
import sharp from 'sharp'
import { colourClassifierOnnx } from '../helpers/colour-model.js'
import { modelDir } from '../helpers/model-dir.js'
import { assertNoStack, get, post, startServer } from '../helpers/server.js'

// An SVG filter bomb: a few hundred bytes that librsvg takes seconds to minutes to render (turbulence and wide blurs
// over the whole canvas); measured here at ~5 s for side 1000 and 2 layers, growing with side² × layers.
function svgBomb(side: number, layers: number): string {
  let filters = ''
  for (let i = 0; i < layers; i++)
    filters += `<feTurbulence baseFrequency="0.9" numOctaves="10" result="t${i}"/><feGaussianBlur in="t${i}" stdDeviation="200"/>`
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${side}" height="${side}"><filter id="f" x="0" y="0" width="1" height="1">${filters}</filter><rect width="100%" height="100%" filter="url(#f)"/></svg>`
}

const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64')

const colourClassifier = colourClassifierOnnx()

const yaml = (name: string, extra = '') => `
name: ${name}
labels: [red, green, blue]
preprocess:
  image:
    resize: { width: 4, height: 4, fit: cover }
${extra}`

const redPng = () =>
  sharp({ create: { width: 8, height: 8, channels: 3, background: '#e01010' } })
    .png()
    .toBuffer()

/** Poll until the model is ready again after its first restart (bounded: the test fails rather than hangs). */
async function waitForReplacement(url: string, name: string, limitMs = 30_000) {
  const until = Date.now() + limitMs
  for (;;) {
    const { body } = await get(`${url}/v1/models/${name}`)
    if (body.state === 'ready' && body.stats.restarts >= 1) return body
    if (Date.now() > until)
      throw new Error(`${name} was not replaced (state ${body.state}, restarts ${body.stats.restarts})`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

test('SVG is refused by default with 415 UNSUPPORTED_IMAGE_FORMAT naming the format, before anything renders it', async (t) => {
  const dir = await modelDir({ 'carafe.yaml': yaml('plain'), '1/model.onnx': colourClassifier }, t)
  const { url } = await startServer(dir, { t })
  const path = `${url}/v1/models/plain:predict`
  for (const image of [
    b64(svgBomb(1200, 3)),
    `data:image/svg+xml;base64,${b64(svgBomb(1200, 3))}`,
    { b64: b64(gzipSync(svgBomb(1200, 3))) }, // SVGZ
  ]) {
    const refused = await post(path, { instances: [{ image }] }, { 'x-carafe-timeout-ms': '20000' })
    assert.equal(refused.status, 415, refused.text)
    assert.equal(refused.body.error.code, 'UNSUPPORTED_IMAGE_FORMAT')
    assert.match(refused.body.error.message, /svg/)
    assertNoStack(refused.text)
  }
  const model = (await get(`${url}/v1/models/plain`)).body
  assert.equal(model.state, 'ready')
  assert.equal(model.stats.restarts, 0)
  const ok = await post(path, { instances: [{ image: (await redPng()).toString('base64') }] })
  assert.equal(ok.status, 200, ok.text)
  assert.equal(ok.body.predictions[0].label, 'red')
})

test('a model may opt in to SVG: its pixel limit holds, a benign SVG works, and a bomb past hangTimeoutMs has its runner killed and replaced', async (t) => {
  const dir = await modelDir(
    {
      'carafe.yaml': yaml('vector', '    formats: [png, svg]\n    maxPixels: 10000000\nhangTimeoutMs: 1500\n'),
      '1/model.onnx': colourClassifier,
    },
    t,
  )
  const { url, logs } = await startServer(dir, { t })
  const path = `${url}/v1/models/vector:predict`
  const benign = `<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8" fill="#1010e0"/></svg>`
  const ok = await post(path, { instances: [{ image: b64(benign) }] })
  assert.equal(ok.status, 200, ok.text)
  assert.equal(ok.body.predictions[0].label, 'blue')
  const huge = await post(path, { instances: [{ image: b64(svgBomb(4000, 1)) }] })
  assert.equal(huge.status, 413, huge.text)
  assert.equal(huge.body.error.code, 'IMAGE_TOO_LARGE')
  const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#e01010' } })
    .jpeg()
    .toBuffer()
  const notListed = await post(path, { instances: [{ image: jpeg.toString('base64') }] })
  assert.equal(notListed.status, 415, notListed.text)
  assert.match(notListed.body.error.message, /jpeg/)

  // minutes of rendering: only a killed process gets the model back within the bound of waitForReplacement
  const bomb = await post(path, { instances: [{ image: b64(svgBomb(3000, 4)) }] }, { 'x-carafe-timeout-ms': '500' })
  assert.equal(bomb.status, 504, bomb.text)
  const model = await waitForReplacement(url, 'vector')
  assert.equal(model.stats.restarts, 1)
  assert.ok(logs.some((line) => line.msg === 'runner busy past its hang threshold; terminating and replacing it'))
  const after = await post(path, { instances: [{ image: (await redPng()).toString('base64') }] })
  assert.equal(after.status, 200, after.text)
  assert.equal(after.body.predictions[0].label, 'red')
})

test('opting in to SVG with isolation: thread is refused at start (a render in a thread cannot be stopped)', async (t) => {
  const dir = await modelDir(
    {
      'carafe.yaml': yaml('threaded', '    formats: [svg]\nisolation: thread\n'),
      '1/model.onnx': colourClassifier,
    },
    t,
  )
  await assert.rejects(startServer(dir, { t }), /isolation: process/)
})
