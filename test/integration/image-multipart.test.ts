import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { example } from '../helpers/paths.js'
import { assertNoStack, startServer, type TestServer } from '../helpers/server.js'
import { renderLines, type Line } from '../helpers/text-image.js'

const LINES: Line[] = [
  { text: 'UPLOADED 123', baseline: 60 },
  { text: 'second line', baseline: 140 },
]

async function send(url: string, form: FormData) {
  const response = await fetch(url, { method: 'POST', body: form })
  const text = await response.text()
  return { status: response.status, text, body: JSON.parse(text) }
}

describe('multipart/form-data uploads', () => {
  let server: TestServer
  let page: Buffer
  let url: string
  before(async () => {
    page = await renderLines(LINES, 480, 200)
    server = await startServer(example('text-detection'))
    url = `${server.url}/v1/models/text-detection:predict`
  })
  after(() => server?.close())
  const file = (bytes: Uint8Array, type = 'image/png') => new Blob([new Uint8Array(bytes)], { type })

  it('takes a file field "image" plus text parameters as one instance', async () => {
    const form = new FormData()
    form.append('image', file(page), 'page.png')
    form.append('scoreThreshold', '0.5')
    form.append('maxResults', '10')
    const { status, body, text } = await send(url, form)
    assert.equal(status, 200, text)
    assert.equal(body.predictions.length, 1)
    assert.equal(body.predictions[0].boxes.length, LINES.length)
    const capped = new FormData()
    capped.append('image', file(page), 'page.png')
    capped.append('maxResults', '1')
    assert.equal((await send(url, capped)).body.predictions[0].boxes.length, 1)
  })

  it('answers the same through POST /predict when one model is served', async () => {
    const form = new FormData()
    form.append('image', file(page), 'page.png')
    const { status, body } = await send(`${server.url}/predict`, form)
    assert.equal(status, 200)
    assert.equal(body.predictions[0].boxes.length, LINES.length)
  })

  it('refuses an uploaded file that is not an image with 400 INVALID_IMAGE', async () => {
    const form = new FormData()
    form.append('image', file(Buffer.from('plain words'), 'text/plain'), 'notes.txt')
    const { status, body, text } = await send(url, form)
    assert.equal(status, 400, text)
    assert.equal(body.error.code, 'INVALID_IMAGE')
    assertNoStack(text)
  })

  it('refuses an unknown parameter and a wrongly typed one with 400 INVALID_INPUT', async () => {
    for (const [key, value] of [
      ['colour', 'red'],
      ['maxResults', 'many'],
    ]) {
      const form = new FormData()
      form.append('image', file(page), 'page.png')
      form.append(key!, value!)
      const { status, body } = await send(url, form)
      assert.equal(status, 400)
      assert.equal(body.error.code, 'INVALID_INPUT')
    }
  })

  it('refuses an empty form and a form without the image with 400 INVALID_INPUT', async () => {
    const empty = await send(url, new FormData())
    assert.equal(empty.status, 400)
    assert.equal(empty.body.error.code, 'INVALID_INPUT')
    const form = new FormData()
    form.append('maxResults', '3')
    const missing = await send(url, form)
    assert.equal(missing.status, 400)
    assert.equal(missing.body.error.code, 'INVALID_INPUT')
  })

  it('refuses an uploaded file over the byte limit with 413 IMAGE_TOO_LARGE', async () => {
    const form = new FormData()
    form.append('image', file(new Uint8Array(7 * 1024 * 1024)), 'big.png')
    const { status, body, text } = await send(url, form)
    assert.equal(status, 413, text)
    assert.equal(body.error.code, 'IMAGE_TOO_LARGE')
  })

  it('still answers 415 for a body that is neither JSON nor a form', async () => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' })
    assert.equal(response.status, 415)
    assert.equal((await response.json()).error.code, 'UNSUPPORTED_MEDIA_TYPE')
  })
})
