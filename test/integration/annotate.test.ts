import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { example } from '../helpers/paths.js'
import { assertNoStack, post, startServer, type TestServer } from '../helpers/server.js'
import { renderLines, type Line } from '../helpers/text-image.js'

const LINES: Line[] = [
  { text: 'ANNOTATE ME', baseline: 60 },
  { text: 'two lines 99', baseline: 140 },
]
const FEATURES = { score_th: 0.3, nms_iou: 0.4, maxResults: 20, min_height: 0.03, min_width: 0.03 }

describe('POST /v1/models/text-detection:annotate (the classic detection shape)', () => {
  let server: TestServer
  let content: string
  before(async () => {
    content = (await renderLines(LINES, 480, 200)).toString('base64')
    server = await startServer([example('text-detection'), example('iris')])
  })
  after(() => server?.close())
  const annotate = (body: unknown, model = 'text-detection') => post(`${server.url}/v1/models/${model}:annotate`, body)

  it('answers {"responses": [{"textAnnotations": [...]}]}, one response per request, in order', async () => {
    const blank = (await renderLines([], 200, 100)).toString('base64')
    const { status, body, text } = await annotate({
      requests: [
        { image: { content }, features: [FEATURES] },
        { image: { content: blank }, features: [FEATURES] },
        { image: { content }, features: [{ maxResults: 1 }] },
      ],
    })
    assert.equal(status, 200, text)
    assert.equal(body.responses.length, 3)
    const [page, empty, capped] = body.responses
    assert.equal(page.textAnnotations.length, LINES.length)
    for (const a of page.textAnnotations) {
      assert.equal(a.boundingPoly.vertices.length, 4)
      assert.ok(
        a.boundingPoly.vertices.every(
          (v: { x: number; y: number }) => Number.isInteger(v.x) && Number.isInteger(v.y) && v.x <= 480 && v.y <= 200,
        ),
      )
      assert.ok(
        a.boundingPoly.normalizedVertices.every(
          (v: { x: number; y: number }) => v.x >= 0 && v.x <= 1 && v.y >= 0 && v.y <= 1,
        ),
      )
      assert.ok(a.score >= 0.3)
    }
    assert.ok(page.textAnnotations[0].boundingPoly.vertices[0].y < page.textAnnotations[1].boundingPoly.vertices[0].y)
    assert.deepEqual(empty.textAnnotations, [])
    assert.equal(capped.textAnnotations.length, 1)
  })

  it('a null feature value means the default (score_th, nms_iou, maxResults, min_height, min_width, features)', async () => {
    const nulls = { type: null, score_th: null, nms_iou: null, maxResults: null, min_height: null, min_width: null }
    const { status, body, text } = await annotate({
      requests: [
        { image: { content }, features: [nulls] },
        { image: { content }, features: null },
      ],
    })
    assert.equal(status, 200, text)
    const plain = await annotate({ requests: [{ image: { content } }] })
    for (const response of body.responses) assert.deepEqual(response, plain.body.responses[0])
    // a null does not undo a value set by an earlier feature
    const kept = await annotate({
      requests: [{ image: { content }, features: [{ maxResults: 1 }, { maxResults: null }] }],
    })
    assert.equal(kept.body.responses[0].textAnnotations.length, 1)
  })

  it('accepts a request without features (defaults apply)', async () => {
    const { status, body } = await annotate({ requests: [{ image: { content } }] })
    assert.equal(status, 200)
    assert.equal(body.responses[0].textAnnotations.length, LINES.length)
  })

  it('refuses a bad image, a bad feature and a bad shape with a 400 envelope', async () => {
    const bad = await annotate({ requests: [{ image: { content: 'bm90IGFuIGltYWdl' } }] })
    assert.equal(bad.status, 400)
    assert.equal(bad.body.error.code, 'INVALID_IMAGE')
    assertNoStack(bad.text)
    const feature = await annotate({ requests: [{ image: { content }, features: [{ score_th: 2 }] }] })
    assert.equal(feature.status, 400)
    assert.equal(feature.body.error.code, 'INVALID_INPUT')
    const shape = await annotate({ instances: [{ image: content }] })
    assert.equal(shape.status, 400)
    assert.equal(shape.body.error.code, 'INVALID_INPUT')
  })

  it('answers 404 for an unknown model and for a model that takes no image', async () => {
    const unknown = await annotate({ requests: [{ image: { content } }] }, 'nope')
    assert.equal(unknown.status, 404)
    assert.equal(unknown.body.error.code, 'MODEL_NOT_FOUND')
    const iris = await annotate({ requests: [{ image: { content } }] }, 'iris')
    assert.equal(iris.status, 404)
    assert.equal(iris.body.error.code, 'NOT_FOUND')
  })
})
