import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import sharp from 'sharp'
import { example } from '../helpers/paths.js'
import { assertNoStack, post, startServer, type TestServer } from '../helpers/server.js'
import { accuracy, FONT_SIZE, renderLines, type Line } from '../helpers/text-image.js'

const LINES: Line[] = [
  { text: 'HELLO CARAFE 2026', baseline: 60 },
  { text: 'model server 42', baseline: 130 },
  { text: 'Quick brown fox', baseline: 200 },
]
const MIN_ACCURACY = 0.9

describe('text-detection and ocr examples over HTTP', () => {
  let server: TestServer
  let page: Buffer
  before(async () => {
    page = await renderLines(LINES)
    server = await startServer([example('text-detection'), example('ocr')])
  })
  after(() => server?.close())
  const predict = (model: string, instances: unknown[]) =>
    post(`${server.url}/v1/models/${model}:predict`, { instances })

  it('finds one box per rendered line from base64, a data URL and {"b64"}', async () => {
    const b64 = page.toString('base64')
    const { status, body, text } = await predict('text-detection', [
      { image: b64 },
      { image: `data:image/png;base64,${b64}` },
      { image: { b64 } },
    ])
    assert.equal(status, 200, text)
    assert.equal(body.predictions.length, 3)
    for (const p of body.predictions) assert.deepEqual(p, body.predictions[0])
    const { width, height, boxes } = body.predictions[0]
    assert.deepEqual([width, height], [640, 240])
    assert.equal(boxes.length, LINES.length, JSON.stringify(boxes))
    boxes.forEach((b: { points: number[][]; box: number[]; score: number }, i: number) => {
      const centre = (b.points[0]![1]! + b.points[3]![1]!) / 2
      const expected = LINES[i]!.baseline - 0.36 * FONT_SIZE // DejaVu's cap height is 0.73 em
      assert.ok(Math.abs(centre - expected) < FONT_SIZE / 3, `line ${i}: centre ${centre}, expected ${expected}`)
      assert.equal(b.points.length, 4)
      assert.ok(b.box.every((v) => v >= 0 && v <= 1) && b.box[0]! < b.box[2]! && b.box[1]! < b.box[3]!)
      assert.ok(Math.abs(b.box[1]! * height - Math.min(...b.points.map((p) => p[1]!))) < 1)
      assert.ok(b.score >= 0.6 && b.score <= 1)
    })
  })

  it('applies maxResults, scoreThreshold and minimum sizes per request', async () => {
    const image = page.toString('base64')
    const { body } = await predict('text-detection', [
      { image, maxResults: 1 },
      { image, scoreThreshold: 0.9999 },
      { image, minHeight: 0.5 },
      { image, minWidth: 0.01, nmsIou: 0.1 },
    ])
    assert.deepEqual(
      body.predictions.map((p: { boxes: unknown[] }) => p.boxes.length),
      [1, 0, 0, 3],
    )
  })

  it('reads the words back through ocr', async () => {
    const { status, body, text } = await predict('ocr', [{ image: page.toString('base64') }])
    assert.equal(status, 200, text)
    const lines = body.predictions[0].lines
    assert.equal(lines.length, LINES.length, JSON.stringify(lines.map((l: { text: string }) => l.text)))
    lines.forEach((l: { text: string; confidence: number; points: number[][] }, i: number) => {
      const acc = accuracy(l.text, LINES[i]!.text)
      assert.ok(acc >= MIN_ACCURACY, `line ${i}: read "${l.text}" for "${LINES[i]!.text}" (${acc.toFixed(2)})`)
      assert.ok(l.confidence > 0.5 && l.confidence <= 1 && l.points.length === 4)
    })
  })

  it('ocr (composed of text-detection and text-recognition) passes their INVALID_IMAGE on as a 400', async () => {
    const response = await predict('ocr', [{ image: Buffer.from('not an image').toString('base64') }])
    assert.equal(response.status, 400, response.text)
    assert.equal(response.body.error.code, 'INVALID_IMAGE')
    assertNoStack(response.text)
  })

  it('answers a blank image with no boxes', async () => {
    const blank = await sharp({ create: { width: 320, height: 200, channels: 3, background: '#ffffff' } })
      .jpeg()
      .toBuffer()
    const { status, body } = await predict('ocr', [{ image: blank.toString('base64') }])
    assert.equal(status, 200)
    assert.deepEqual(body.predictions[0].lines, [])
  })

  describe('bad images', () => {
    const cases: [string, unknown, number, string][] = [
      ['garbage base64', 'this is not base64!!', 400, 'INVALID_IMAGE'],
      ['base64 of a text file', Buffer.from('just some words, not a picture').toString('base64'), 400, 'INVALID_IMAGE'],
      ['a data URL that is not base64', 'data:image/png,abc', 400, 'INVALID_IMAGE'],
      ['a number', 42, 400, 'INVALID_INPUT'],
      ['an object without b64', { url: 'http://example.com/a.png' }, 400, 'INVALID_INPUT'],
    ]
    for (const [what, image, status, code] of cases) {
      it(`refuses ${what} with ${status} ${code}`, async () => {
        const response = await predict('text-detection', [{ image }])
        assert.equal(response.status, status, response.text)
        assert.equal(response.body.error.code, code)
        assertNoStack(response.text)
      })
    }

    it('refuses an image over the pixel limit with 413 IMAGE_TOO_LARGE', async () => {
      // 8000 x 6000 = 48 MP of one colour compresses to a few kB, over the 40 MP limit
      const huge = await sharp({ create: { width: 8000, height: 6000, channels: 3, background: '#ffffff' } })
        .png({ compressionLevel: 9 })
        .toBuffer()
      const response = await predict('text-detection', [{ image: huge.toString('base64') }])
      assert.equal(response.status, 413, response.text)
      assert.equal(response.body.error.code, 'IMAGE_TOO_LARGE')
      assertNoStack(response.text)
    })

    it('refuses an image over the byte limit with 413 IMAGE_TOO_LARGE', async () => {
      const response = await predict('text-detection', [{ image: 'A'.repeat(9_000_000) }])
      assert.equal(response.status, 413, response.text)
      assert.equal(response.body.error.code, 'IMAGE_TOO_LARGE')
    })

    it('refuses a raw image body with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
      const response = await post(`${server.url}/v1/models/text-detection:predict`, new Uint8Array(page), {
        'content-type': 'image/png',
      })
      assert.equal(response.status, 415, response.text)
      assert.equal(response.body.error.code, 'UNSUPPORTED_MEDIA_TYPE')
    })

    it('keeps serving after bad images', async () => {
      const { status, body } = await predict('text-detection', [{ image: page.toString('base64') }])
      assert.equal(status, 200)
      assert.equal(body.predictions[0].boxes.length, LINES.length)
    })
  })
})
