/** Connected components of a binary map, each reduced to what DB post-processing needs. */

import type { Point } from './geometry.js'

export interface Component {
  pixelCount: number
  /** Leftmost and rightmost pixel of every row: their hull is the hull of the whole region. */
  rowExtremes: Point[]
}

// 8-connectivity, as cv2.findContours (used by PaddleOCR) traces regions.
const NEIGHBOURS: readonly Point[] = [
  [-1, -1],
  [0, -1],
  [1, -1],
  [-1, 0],
  [1, 0],
  [-1, 1],
  [0, 1],
  [1, 1],
]

/**
 * Labels 8-connected regions of `bitmap` (non-zero = foreground) with an explicit queue, no recursion,
 * so a region of millions of pixels cannot overflow the stack. Stops after `maxComponents`.
 */
export function connectedComponents(
  bitmap: Uint8Array,
  width: number,
  height: number,
  maxComponents: number,
): Component[] {
  const seen = new Uint8Array(width * height)
  const queue = new Int32Array(width * height)
  const components: Component[] = []
  for (let start = 0; start < bitmap.length && components.length < maxComponents; start++) {
    if (!bitmap[start] || seen[start]) continue
    seen[start] = 1
    queue[0] = start
    let head = 0
    let tail = 1
    while (head < tail) {
      const idx = queue[head++]!
      const x = idx % width
      const y = (idx - x) / width
      for (const [dx, dy] of NEIGHBOURS) {
        const nx = x + dx
        const ny = y + dy
        if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue
        const nIdx = ny * width + nx
        if (bitmap[nIdx] && !seen[nIdx]) {
          seen[nIdx] = 1
          queue[tail++] = nIdx
        }
      }
    }
    components.push({ pixelCount: tail, rowExtremes: rowExtremes(queue.subarray(0, tail), width) })
  }
  return components
}

function rowExtremes(pixels: Int32Array, width: number): Point[] {
  const rows = new Map<number, [number, number]>()
  for (const idx of pixels) {
    const x = idx % width
    const y = (idx - x) / width
    const row = rows.get(y)
    if (!row) rows.set(y, [x, x])
    else if (x < row[0]) row[0] = x
    else if (x > row[1]) row[1] = x
  }
  const points: Point[] = []
  for (const [y, [x0, x1]] of rows) points.push([x0, y], [x1, y])
  return points
}
