import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { loadAll } from '../../src/http/index.js'
import { ModelLoadError } from '../../src/model/index.js'
import { example, fixture } from '../helpers/paths.js'
import { modelDir } from '../helpers/model-dir.js'
import { post, startServer } from '../helpers/server.js'
import { accuracy, renderLines } from '../helpers/text-image.js'

const names = (list: { name: string }[]) => list.map((d) => d.name).sort()

describe('carafe.yaml requires', () => {
  it('serving examples/ocr brings up text-detection and text-recognition too, each once', async () => {
    assert.deepEqual(names(await loadAll([example('ocr')])), ['ocr', 'text-detection', 'text-recognition'])
    assert.deepEqual(names(await loadAll([example('ocr'), example('text-detection')])), [
      'ocr',
      'text-detection',
      'text-recognition',
    ])
  })

  it('follows chains, stops at cycles, and names a missing path', async (t) => {
    const handler = "export default { name: 'same', input: {}, predict: (inputs) => inputs }\n"
    const root = await modelDir(
      {
        'a/carafe.yaml': 'name: a\nrequires: [../b]\n',
        'a/1/model.mjs': handler,
        'b/carafe.yaml': `name: b\nrequires: [../a, ${fixture('handlers/echo.ts')}]\n`,
        'b/1/model.mjs': handler,
      },
      t,
    )
    // a requires b, b requires a (a cycle) and a handler file by absolute path
    assert.deepEqual(names(await loadAll([`${root}/a`])), ['a', 'b', 'echo'])
    const broken = await modelDir({ 'carafe.yaml': 'name: c\nrequires: [../missing]\n', '1/model.mjs': handler }, t)
    await assert.rejects(
      loadAll([broken]),
      (error: Error) => error instanceof ModelLoadError && /missing/.test(error.message),
    )
  })

  it('the required models answer: detection boxes fed to text-recognition read the lines', async (t) => {
    const server = await startServer(example('ocr'), { t })
    const image = (
      await renderLines(
        [
          { text: 'COMPOSED 2026', baseline: 60 },
          { text: 'read me back', baseline: 140 },
        ],
        480,
        200,
      )
    ).toString('base64')
    const detected = await post(`${server.url}/v1/models/text-detection:predict`, { instances: [{ image }] })
    assert.equal(detected.status, 200, detected.text)
    const boxes = detected.body.predictions[0].boxes.map((b: { points: number[][] }) => b.points)
    const read = await post(`${server.url}/v1/models/text-recognition:predict`, { instances: [{ image, boxes }] })
    assert.equal(read.status, 200, read.text)
    const texts = read.body.predictions[0].lines.map((l: { text: string }) => l.text)
    assert.equal(texts.length, 2)
    assert.ok(
      accuracy(texts[0], 'COMPOSED 2026') >= 0.9 && accuracy(texts[1], 'read me back') >= 0.9,
      JSON.stringify(texts),
    )
  })
})
