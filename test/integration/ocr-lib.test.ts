import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import sharp from 'sharp'
import { ppOcrV4Paths } from '../../examples/ocr-lib/models.js'
import { detect, ocr, openOcrSessions, type OcrSessions } from '../../examples/ocr-lib/pipeline.js'
import { accuracy } from '../helpers/text-image.js'

const FONT = 'DejaVu Sans'
const FONT_SIZE = 36
const FONT_FIX = 'run `apt-get install -y fonts-dejavu-core` (sharp renders SVG text through fontconfig)'
// The Chinese PP-OCRv4 model often drops the space between Latin words in a tight crop (it reads
// "HELLOCARAFE2026"), so accuracy is measured on the characters, with whitespace removed.
const MIN_ACCURACY = 0.9

interface Line {
  text: string
  baseline: number
}

function svgPage(width: number, height: number, body: string): Buffer {
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `<rect width="100%" height="100%" fill="white"/>${body}</svg>`,
  )
}

function textElement(text: string, x: number, y: number, extra = ''): string {
  return `<text x="${x}" y="${y}" font-family="${FONT}" font-size="${FONT_SIZE}" fill="black" ${extra}>${text}</text>`
}

async function render(svg: Buffer): Promise<Buffer> {
  return sharp(svg).png().toBuffer()
}

async function inkWidth(text: string): Promise<number> {
  const png = await render(svgPage(800, 80, textElement(text, 10, 50)))
  const { info } = await sharp(png).trim().toBuffer({ resolveWithObject: true })
  return info.width
}

// Without fonts, pango still draws a same-sized "missing glyph" box per character, so an image with
// ink proves nothing; glyphs of a real font differ in width.
async function assertGlyphsRender(): Promise<void> {
  const [narrow, wide] = [await inkWidth('iiiiiiiiii'), await inkWidth('MMMMMMMMMM')]
  if (wide < 2 * narrow)
    throw new Error(`text renders as missing-glyph boxes (i×10: ${narrow}px, M×10: ${wide}px); ${FONT_FIX}`)
}

function assertFontInstalled(): void {
  let match: string
  try {
    match = execFileSync('fc-match', [FONT], { encoding: 'utf8' })
  } catch {
    return // no fontconfig tools: assertGlyphsRender still fails loudly
  }
  if (!match.includes(FONT)) throw new Error(`${FONT} is not installed (fc-match gave ${match.trim()}); ${FONT_FIX}`)
}

describe('ocr-lib with PP-OCRv4', () => {
  const lines: Line[] = [
    { text: 'HELLO CARAFE 2026', baseline: 60 },
    { text: 'model server 42', baseline: 130 },
    { text: 'Quick brown fox', baseline: 200 },
  ]
  let sessions: OcrSessions
  let page: Buffer

  before(async () => {
    assertFontInstalled()
    await assertGlyphsRender()
    page = await render(svgPage(640, 240, lines.map((l) => textElement(l.text, 40, l.baseline)).join('')))
    sessions = await openOcrSessions(await ppOcrV4Paths())
  })
  after(async () => {
    await sessions?.detection.release()
    await sessions?.recognition.release()
  })

  it('finds one box per rendered line, centred on it', async () => {
    const boxes = await detect(page, sessions.detection)
    assert.equal(boxes.length, lines.length, `boxes: ${JSON.stringify(boxes.map((b) => b.box))}`)
    boxes.forEach((b, i) => {
      // DejaVu's cap height is 0.73 em, so a line's ink is centred about 0.36 em above its baseline.
      const expected = lines[i]!.baseline - 0.36 * FONT_SIZE
      const centre = (b.points[0][1] + b.points[3][1]) / 2
      assert.ok(Math.abs(centre - expected) < FONT_SIZE / 3, `line ${i}: box centre ${centre}, text centre ${expected}`)
      assert.ok(b.score >= 0.6 && b.box.every((v) => v >= 0 && v <= 1))
    })
  })

  it('reads every line back', async () => {
    const read = await ocr(page, sessions)
    assert.equal(read.length, lines.length, `read: ${JSON.stringify(read.map((r) => r.text))}`)
    read.forEach((r, i) => {
      const acc = accuracy(r.text, lines[i]!.text)
      assert.ok(acc >= MIN_ACCURACY, `line ${i}: read "${r.text}" for "${lines[i]!.text}" (accuracy ${acc.toFixed(2)})`)
      assert.ok(r.confidence > 0.5 && r.confidence <= 1)
    })
  })

  it('straightens and reads a line rotated by 25°', async () => {
    const text = 'ROTATED text 77'
    const svg = svgPage(640, 480, textElement(text, 320, 240, 'text-anchor="middle" transform="rotate(25 320 240)"'))
    const [line, ...rest] = await ocr(await render(svg), sessions)
    assert.equal(rest.length, 0)
    const [tl, tr] = line!.points
    const angle = (Math.atan2(tr[1] - tl[1], tr[0] - tl[0]) * 180) / Math.PI
    assert.ok(Math.abs(angle - 25) < 3, `top edge at ${angle.toFixed(1)}°`)
    assert.ok(accuracy(line!.text, text) >= MIN_ACCURACY, `read "${line!.text}"`)
  })
})
