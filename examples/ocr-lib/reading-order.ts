/** Sorting detected boxes top-to-bottom, then left-to-right within a line. */

import type { Quad } from './geometry.js'

// Two boxes share a line when their vertical centres differ by less than this fraction of the
// shorter one's height; PaddleOCR uses a fixed 10 px, which breaks for large or small text.
const SAME_LINE_FRACTION = 0.5

function verticalSpan(points: Quad): [number, number] {
  const ys = points.map((p) => p[1])
  return [Math.min(...ys), Math.max(...ys)]
}

/** Returns a new array in reading order; stable for equal positions. */
export function readingOrder<T extends { points: Quad }>(items: readonly T[]): T[] {
  const info = items.map((item) => {
    const [top, bottom] = verticalSpan(item.points)
    return { item, centre: (top + bottom) / 2, height: bottom - top, left: Math.min(...item.points.map((p) => p[0])) }
  })
  info.sort((a, b) => a.centre - b.centre)
  const lines: (typeof info)[] = []
  for (const entry of info) {
    const line = lines[lines.length - 1]
    const anchor = line?.[0]
    if (
      line &&
      anchor &&
      Math.abs(entry.centre - anchor.centre) < SAME_LINE_FRACTION * Math.min(entry.height, anchor.height)
    )
      line.push(entry)
    else lines.push([entry])
  }
  return lines.flatMap((line) => line.sort((a, b) => a.left - b.left).map((e) => e.item))
}
