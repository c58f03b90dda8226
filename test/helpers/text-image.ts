import sharp from 'sharp'

export const FONT = 'DejaVu Sans'
export const FONT_SIZE = 36

export interface Line {
  text: string
  baseline: number
}

/** A white PNG with the lines drawn in DejaVu Sans at x = 40 (fonts-dejavu-core; sharp renders SVG text through fontconfig). */
export async function renderLines(lines: Line[], width = 640, height = 240): Promise<Buffer> {
  const body = lines
    .map(
      (l) =>
        `<text x="40" y="${l.baseline}" font-family="${FONT}" font-size="${FONT_SIZE}" fill="black">${l.text}</text>`,
    )
    .join('')
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="white"/>${body}</svg>`
  return sharp(Buffer.from(svg)).png().toBuffer()
}

function levenshtein(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++)
      next.push(Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)))
    row = next
  }
  return row[b.length]!
}

/** Character accuracy without whitespace: PP-OCRv4 often drops the space between Latin words (see ocr-lib.test.ts). */
export function accuracy(read: string, expected: string): number {
  const [r, e] = [read.replace(/\s+/g, ''), expected.replace(/\s+/g, '')]
  return 1 - levenshtein(r, e) / Math.max(r.length, e.length, 1)
}
