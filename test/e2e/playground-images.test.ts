import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { example } from '../helpers/paths.js'
import { startServer, type TestServer } from '../helpers/server.js'
import { accuracy, FONT_SIZE, renderLines, type Line } from '../helpers/text-image.js'
import { ARTIFACTS, launchBrowser, recordedPage, screenshot } from './browser.js'

const WIDTH = 640
const HEIGHT = 240
const LINES: Line[] = [
  { text: 'HELLO CARAFE 2026', baseline: 60 },
  { text: 'boxes over images', baseline: 130 },
  { text: 'Quick brown fox 7', baseline: 200 },
]
const MIN_ACCURACY = 0.85 // the model drops spaces; compared without whitespace and case
const PIXEL_SLACK = 1 // rounding between the SVG's and the image's layout boxes

const loose = (text: string) => text.toLowerCase()
const field = (page: Page, name: string) => page.locator(`.field[data-path="/${name}"]`)

function assertLocalOnly(requests: string[]) {
  assert.ok(requests.length > 0, 'the browser made no requests')
  for (const url of requests) assert.equal(new URL(url).hostname, '127.0.0.1', `request left 127.0.0.1: ${url}`)
}

/** Each drawn polygon's corners in image pixels (from its points attribute) and its box on the screen. */
function readPolygons(page: Page) {
  return page.locator('.image-preview svg.overlay polygon').evaluateAll((polygons) =>
    polygons.map((p) => ({
      points: (p.getAttribute('points') ?? '')
        .trim()
        .split(/\s+/)
        .map((xy) => xy.split(',').map(Number)),
      rect: p.getBoundingClientRect().toJSON() as DOMRect,
    })),
  )
}

function previewRect(page: Page) {
  return page.locator('.image-preview img').evaluate((img: HTMLImageElement) => ({
    rect: img.getBoundingClientRect().toJSON() as DOMRect,
    naturalWidth: img.naturalWidth,
    naturalHeight: img.naturalHeight,
    src: img.src.slice(0, 22),
  }))
}

function assertInside(inner: DOMRect, outer: DOMRect, what: string) {
  assert.ok(
    inner.left >= outer.left - PIXEL_SLACK &&
      inner.right <= outer.right + PIXEL_SLACK &&
      inner.top >= outer.top - PIXEL_SLACK &&
      inner.bottom <= outer.bottom + PIXEL_SLACK,
    `${what} ${JSON.stringify(inner)} lies outside the image ${JSON.stringify(outer)}`,
  )
}

describe('playground with image inputs (examples/ocr, which brings up text-detection)', () => {
  let server: TestServer
  let browser: Browser
  let image: Buffer
  let closeBrowser: (() => unknown) | undefined
  before(async () => {
    image = await renderLines(LINES, WIDTH, HEIGHT)
    server = await startServer(example('ocr'))
    browser = await launchBrowser({
      after: (close) => {
        closeBrowser = close as () => unknown
      },
    })
  })
  after(async () => {
    await closeBrowser?.()
    await server?.close()
  })

  it('ocr: a chosen file shows in the preview; Predict draws one polygon per line, labelled with the words', async () => {
    const { page, requests } = await recordedPage(browser)
    await page.goto(server.url + '/ui/models/ocr')
    const picker = field(page, 'image').locator('input[type=file]')
    assert.equal(await picker.getAttribute('accept'), 'image/*')
    assert.equal(
      await page.getByLabel('image', { exact: true }).getAttribute('type'),
      'file',
      'the picker has its label',
    )
    await picker.setInputFiles({ name: 'lines.png', mimeType: 'image/png', buffer: image })
    const preview = page.locator('.image-preview img[alt="Chosen image: lines.png"]')
    await preview.waitFor()
    const shown = await previewRect(page)
    assert.deepEqual([shown.naturalWidth, shown.naturalHeight, shown.src], [WIDTH, HEIGHT, 'data:image/png;base64,'])

    const sent = page.waitForRequest((r) => r.url().endsWith('/v1/models/ocr:predict'))
    await page.getByRole('button', { name: 'Predict' }).click()
    const body = (await sent).postDataJSON()
    assert.deepEqual(Object.keys(body.instances[0]), ['image'], 'empty optional parameters are left out')
    const [prefix, b64] = body.instances[0].image.split(',')
    assert.equal(prefix, 'data:image/png;base64', 'the chosen file is sent as a data URL')
    assert.ok(Buffer.from(b64, 'base64').equals(image))
    await page.locator('table.boxes').waitFor()
    const polygons = page.locator('.image-preview svg.overlay polygon')
    await polygons.first().waitFor()
    assert.equal(await page.locator('.image-preview svg.overlay').getAttribute('viewBox'), `0 0 ${WIDTH} ${HEIGHT}`)
    const drawn = await readPolygons(page)
    assert.equal(drawn.length, LINES.length, JSON.stringify(drawn.map((d) => d.points)))
    const { rect: imageRect } = await previewRect(page)
    drawn.forEach(({ points, rect }, i) => {
      assert.equal(points.length, 4, `polygon ${i}`)
      for (const [x, y] of points)
        assert.ok(x! >= 0 && x! <= WIDTH && y! >= 0 && y! <= HEIGHT, `polygon ${i}: corner ${x},${y} outside the image`)
      assertInside(rect, imageRect, `polygon ${i} on screen`)
      const centre = points.reduce((sum, p) => sum + p[1]!, 0) / 4
      const expected = LINES[i]!.baseline - 0.36 * FONT_SIZE // DejaVu's cap height is 0.73 em
      assert.ok(Math.abs(centre - expected) < FONT_SIZE / 3, `polygon ${i}: centre y ${centre}, expected ${expected}`)
    })

    const labels = await page.locator('.image-preview svg.overlay text').allTextContents()
    assert.equal(labels.length, LINES.length)
    labels.forEach((label, i) => {
      const score = accuracy(loose(label), loose(LINES[i]!.text))
      assert.ok(score >= MIN_ACCURACY, `label ${i} reads "${label}" for "${LINES[i]!.text}" (${score.toFixed(2)})`)
    })
    // the result is the box table and the other fields, not the response again as pretty JSON; the raw JSON is shown
    // once, compact, when asked for
    assert.equal(await page.locator('#result-view pre').count(), 0)
    assert.equal(await page.locator('#result-view dl.fields dt', { hasText: 'width' }).count(), 1)
    assert.equal(await page.locator('#raw-json').isVisible(), false)
    await page.getByRole('button', { name: 'Show raw JSON' }).click()
    const raw = (await page.locator('#raw-json').textContent()) ?? ''
    assert.deepEqual(JSON.parse(raw), { predictions: [JSON.parse(raw).predictions[0]] })
    assert.ok(!raw.includes('\n'), 'compact JSON, not one number per line')
    assert.equal(await page.getByText('"lines"').count(), 1, 'the response is shown once')
    assert.equal(await page.locator('table.boxes .box-text').count(), LINES.length)
    await screenshot(page, 'ocr-overlay')
    await page.locator('.image-preview').screenshot({ path: join(ARTIFACTS, 'ocr-overlay-preview.png') })

    // choosing another image clears the old boxes
    await picker.setInputFiles({ name: 'again.png', mimeType: 'image/png', buffer: image })
    await page.locator('.image-preview img[alt="Chosen image: again.png"]').waitFor()
    assert.equal(await polygons.count(), 0)
    assertLocalOnly(requests)
  })

  it('on a phone (390 px) the model list and the OCR page with its result fit the screen; no console errors', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } })
    page.setDefaultTimeout(20_000)
    const errors: string[] = []
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text())
    })
    page.on('pageerror', (error) => errors.push(error.message))
    const assertFits = async (what: string) => {
      const { scroll, width } = await page.evaluate(() => ({
        scroll: document.scrollingElement!.scrollWidth,
        width: window.innerWidth,
      }))
      assert.ok(scroll <= width, `${what} is ${scroll} px wide on a ${width} px screen`)
    }
    await page.goto(server.url + '/')
    await assertFits('the model list')
    await page.goto(server.url + '/ui/models/ocr')
    await page.locator('.image-preview img[alt="Example image"]').waitFor()
    await assertFits('the OCR form')
    assert.equal(
      await page.getByLabel('scoreThreshold').getAttribute('aria-describedby'),
      `${await page.getByLabel('scoreThreshold').getAttribute('id')}-help ${await page.getByLabel('scoreThreshold').getAttribute('id')}-error`,
      'a parameter is labelled by its name, its description is the help text',
    )
    assert.match(
      (await page.locator('.field[data-path="/scoreThreshold"] .field-help').textContent()) ?? '',
      /mean text probability/,
    )
    await page.getByRole('button', { name: 'Predict' }).click()
    await page.locator('table.boxes').waitFor()
    await page.getByRole('button', { name: 'Show raw JSON' }).click()
    await assertFits('the OCR result')
    await screenshot(page, 'ocr-phone')
    assert.deepEqual(errors, [])
    await page.close()
  })

  it('text-detection: the example image is preloaded, Predict draws its boxes at once; a dropped file replaces it', async () => {
    const { page, requests } = await recordedPage(browser)
    await page.goto(server.url + '/ui/models/text-detection')
    const preview = page.locator('.image-preview img[alt="Example image"]')
    await preview.waitFor()
    const shown = await previewRect(page)
    assert.deepEqual([shown.naturalWidth, shown.naturalHeight], [200, 48], 'the "Carafe 42" example')
    assert.equal(
      await field(page, 'maxResults').locator('input').inputValue(),
      '',
      'optional parameters start empty and are left out',
    )

    await page.getByRole('button', { name: 'Predict' }).click()
    await page.locator('.image-preview svg.overlay polygon').first().waitFor()
    const drawn = await readPolygons(page)
    assert.ok(drawn.length >= 1)
    for (const { rect } of drawn) assertInside(rect, shown.rect, 'polygon on screen')
    assert.match(
      (await page.locator('.image-preview svg.overlay text').first().textContent()) ?? '',
      /^0\.\d\d$/,
      'a box without text is labelled with its score',
    )
    await screenshot(page, 'text-detection-overlay')

    // a file dropped on the preview becomes the image
    const dataTransfer = await page.evaluateHandle((b64) => {
      const transfer = new DataTransfer()
      transfer.items.add(
        new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'dropped.png', { type: 'image/png' }),
      )
      return transfer
    }, image.toString('base64'))
    await page.locator('.image-preview').dispatchEvent('drop', { dataTransfer })
    await page.locator('.image-preview img[alt="Chosen image: dropped.png"]').waitFor()
    await field(page, 'maxResults').locator('input').fill('2')
    await page.getByRole('button', { name: 'Predict' }).click()
    await page.locator('table.boxes caption', { hasText: '2 boxes' }).waitFor()
    assert.equal(await page.locator('.image-preview svg.overlay polygon').count(), 2)
    assertLocalOnly(requests)
  })
})
