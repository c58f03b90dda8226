/** DB post-processing: probability map → scored, deduplicated text boxes in original-image pixels. */

import { connectedComponents } from './components.js'
import {
  expandRect,
  minAreaRect,
  nms,
  orderClockwise,
  rectCorners,
  type Point,
  type Quad,
  type RotatedRect,
} from './geometry.js'
import { readingOrder } from './reading-order.js'

export interface DetectionOptions {
  /** Binarization threshold on the probability map. */
  thresh: number
  /** Minimum mean probability inside a candidate box. */
  boxThresh: number
  /** Unclip offset = area * ratio / perimeter; undoes the shrink applied to training labels. */
  unclipRatio: number
  /** Regions examined at most, as PaddleOCR's max_candidates; bounds work on noisy maps. */
  maxCandidates: number
  /** Final score filter, applied after boxThresh (useful when raising it per request). */
  scoreThreshold: number
  /** Boxes overlapping a better one by more than this IoU are dropped. */
  nmsIou: number
  maxResults: number
  /** Minimum axis-aligned box width and height, as fractions of the image's. */
  minWidth: number
  minHeight: number
}

export const DETECTION_DEFAULTS: Readonly<DetectionOptions> = Object.freeze({
  thresh: 0.3,
  boxThresh: 0.6,
  unclipRatio: 1.5,
  maxCandidates: 1000,
  scoreThreshold: 0,
  nmsIou: 0.5,
  maxResults: 100,
  minWidth: 0,
  minHeight: 0,
})

// PaddleOCR's min_size: shorter rectangle side in map pixels, checked before unclip and, plus 2, after.
const MIN_SIDE = 3

const clamp = (v: number, max: number): number => Math.min(Math.max(v, 0), max)

export interface TextBox {
  /** Corners in original-image pixels: top-left, top-right, bottom-right, bottom-left. */
  points: Quad
  /** Axis-aligned bounds [x0, y0, x1, y1], normalized to 0..1. */
  box: [number, number, number, number]
  score: number
}

export interface MapGeometry {
  mapWidth: number
  mapHeight: number
  originalWidth: number
  originalHeight: number
}

/** Turns the detector's [1, 1, H, W] probability map into boxes on the original image. */
export function postprocessDetection(
  map: Float32Array,
  geometry: MapGeometry,
  options: Partial<DetectionOptions> = {},
): TextBox[] {
  const opts = { ...DETECTION_DEFAULTS, ...options }
  const { mapWidth, mapHeight, originalWidth, originalHeight } = geometry
  if (map.length !== mapWidth * mapHeight) {
    throw new Error(`postprocessDetection: map has ${map.length} values, expected ${mapWidth}x${mapHeight}`)
  }
  const bitmap = new Uint8Array(map.length)
  for (let i = 0; i < map.length; i++) bitmap[i] = map[i]! > opts.thresh ? 1 : 0

  const sx = originalWidth / mapWidth
  const sy = originalHeight / mapHeight
  const candidates: TextBox[] = []
  for (const region of connectedComponents(bitmap, mapWidth, mapHeight, opts.maxCandidates)) {
    const rect = minAreaRect(region.rowExtremes)
    if (2 * Math.min(rect.halfU, rect.halfN) < MIN_SIDE) continue
    const score = meanInside(map, mapWidth, mapHeight, rect)
    if (score < opts.boxThresh) continue
    const area = 4 * rect.halfU * rect.halfN
    const perimeter = 4 * (rect.halfU + rect.halfN)
    const grown = expandRect(rect, (area * opts.unclipRatio) / perimeter)
    if (2 * Math.min(grown.halfU, grown.halfN) < MIN_SIDE + 2) continue
    const points = orderClockwise(
      rectCorners(grown).map(([x, y]): Point => [clamp(x * sx, originalWidth), clamp(y * sy, originalHeight)]),
    )
    candidates.push({ points, box: normalizedBounds(points, originalWidth, originalHeight), score })
  }

  const filtered = candidates.filter(
    (c) =>
      c.score >= opts.scoreThreshold && c.box[2] - c.box[0] >= opts.minWidth && c.box[3] - c.box[1] >= opts.minHeight,
  )
  const kept = nms(filtered, opts.nmsIou)
    .slice(0, opts.maxResults)
    .map((i) => filtered[i]!)
  return readingOrder(kept)
}

/**
 * Mean probability over the map pixels whose centres fall inside the rectangle, within its bounding box:
 * PaddleOCR's score_mode 'fast' (it fills the polygon; a half-plane test per pixel is the same set).
 */
function meanInside(map: Float32Array, width: number, height: number, rect: RotatedRect): number {
  const corners = rectCorners(rect)
  const xs = corners.map((p) => p[0])
  const ys = corners.map((p) => p[1])
  const x0 = Math.max(0, Math.floor(Math.min(...xs)))
  const x1 = Math.min(width - 1, Math.ceil(Math.max(...xs)))
  const y0 = Math.max(0, Math.floor(Math.min(...ys)))
  const y1 = Math.min(height - 1, Math.ceil(Math.max(...ys)))
  const { center: c, u, halfU, halfN } = rect
  const tolerance = 0.5 // count pixels the rectangle's edge passes through, as a filled polygon would
  let sum = 0
  let count = 0
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const dx = x - c[0]
      const dy = y - c[1]
      if (
        Math.abs(dx * u[0] + dy * u[1]) <= halfU + tolerance &&
        Math.abs(-dx * u[1] + dy * u[0]) <= halfN + tolerance
      ) {
        sum += map[y * width + x]!
        count++
      }
    }
  }
  return count > 0 ? sum / count : 0
}

function normalizedBounds(points: Quad, width: number, height: number): [number, number, number, number] {
  const xs = points.map((p) => p[0])
  const ys = points.map((p) => p[1])
  return [Math.min(...xs) / width, Math.min(...ys) / height, Math.max(...xs) / width, Math.max(...ys) / height]
}
