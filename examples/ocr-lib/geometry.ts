/** Pure 2-D geometry for text boxes: hulls, minimum-area rectangles, polygon IoU, NMS. */

export type Point = [number, number]
export type Quad = [Point, Point, Point, Point]

/** A rotated rectangle: centre, unit axis `u`, and half extents along `u` and its normal. */
export interface RotatedRect {
  center: Point
  u: Point
  halfU: number
  halfN: number
}

const EPS = 1e-9

function cross(o: Point, a: Point, b: Point): number {
  return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
}

/** Convex hull by Andrew's monotone chain; counter-clockwise in y-up terms, collinear points dropped. */
export function convexHull(points: readonly Point[]): Point[] {
  const sorted = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1])
  if (sorted.length < 3) return dedupe(sorted)
  const lower: Point[] = []
  for (const p of sorted) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, p) <= 0) lower.pop()
    lower.push(p)
  }
  const upper: Point[] = []
  for (let i = sorted.length - 1; i >= 0; i--) {
    const p = sorted[i]!
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, p) <= 0) upper.pop()
    upper.push(p)
  }
  lower.pop()
  upper.pop()
  return lower.concat(upper)
}

function dedupe(points: Point[]): Point[] {
  return points.filter((p, i) => i === 0 || p[0] !== points[i - 1]![0] || p[1] !== points[i - 1]![1])
}

function dot(a: Point, b: Point): number {
  return a[0] * b[0] + a[1] * b[1]
}

/**
 * Minimum-area enclosing rectangle by rotating calipers over the convex hull: the optimum has a side on
 * a hull edge (Freeman & Shapira 1975), and the three other extreme points only move forward as the edge turns.
 */
export function minAreaRect(points: readonly Point[]): RotatedRect {
  const hull = convexHull(points)
  const n = hull.length
  if (n === 0) return { center: [0, 0], u: [1, 0], halfU: 0, halfN: 0 }
  if (n < 3) {
    const [a, b = a] = hull as [Point, Point?]
    const len = Math.hypot(b[0] - a[0], b[1] - a[1])
    const u: Point = len > 0 ? [(b[0] - a[0]) / len, (b[1] - a[1]) / len] : [1, 0]
    return { center: [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2], u, halfU: len / 2, halfN: 0 }
  }
  const at = (i: number): Point => hull[i % n]!
  let best: RotatedRect | undefined
  let bestArea = Infinity
  let iMaxU = 1
  let iMaxN = 1
  let iMinU = 1
  for (let i = 0; i < n; i++) {
    const p = at(i)
    const q = at(i + 1)
    const len = Math.hypot(q[0] - p[0], q[1] - p[1])
    const u: Point = [(q[0] - p[0]) / len, (q[1] - p[1]) / len]
    const nrm: Point = [-u[1], u[0]] // the hull lies on this side of every edge
    const proj = (j: number, axis: Point): number => dot([at(j)[0] - p[0], at(j)[1] - p[1]], axis)
    iMaxU = Math.max(iMaxU, i + 1)
    for (let k = 0; k < n && proj(iMaxU + 1, u) >= proj(iMaxU, u) - EPS; k++) iMaxU++
    iMaxN = Math.max(iMaxN, iMaxU)
    for (let k = 0; k < n && proj(iMaxN + 1, nrm) >= proj(iMaxN, nrm) - EPS; k++) iMaxN++
    iMinU = Math.max(iMinU, iMaxN)
    for (let k = 0; k < n && proj(iMinU + 1, u) <= proj(iMinU, u) + EPS; k++) iMinU++
    const minU = Math.min(0, proj(iMinU, u))
    const maxU = proj(iMaxU, u)
    const height = proj(iMaxN, nrm)
    const area = (maxU - minU) * height
    if (area < bestArea - EPS) {
      bestArea = area
      const midU = (minU + maxU) / 2
      best = {
        center: [p[0] + u[0] * midU + (nrm[0] * height) / 2, p[1] + u[1] * midU + (nrm[1] * height) / 2],
        u,
        halfU: (maxU - minU) / 2,
        halfN: height / 2,
      }
    }
  }
  return best!
}

/** The rectangle grown by `distance` on every side: the min-area rect of a rounded polygon offset. */
export function expandRect(rect: RotatedRect, distance: number): RotatedRect {
  return { ...rect, halfU: rect.halfU + distance, halfN: rect.halfN + distance }
}

export function rectCorners({ center: c, u, halfU, halfN }: RotatedRect): Quad {
  const n: Point = [-u[1], u[0]]
  const corner = (a: number, b: number): Point => [
    c[0] + u[0] * a * halfU + n[0] * b * halfN,
    c[1] + u[1] * a * halfU + n[1] * b * halfN,
  ]
  return [corner(-1, -1), corner(1, -1), corner(1, 1), corner(-1, 1)]
}

/**
 * Orders 4 corners as top-left, top-right, bottom-right, bottom-left (clockwise on screen, y down),
 * the way PaddleOCR's get_mini_boxes does: the two leftmost points are the left side.
 */
export function orderClockwise(quad: readonly Point[]): Quad {
  const byX = [...quad].sort((a, b) => a[0] - b[0] || a[1] - b[1])
  const [l1, l2, r1, r2] = byX as Quad
  const [tl, bl] = l1[1] <= l2[1] ? [l1, l2] : [l2, l1]
  const [tr, br] = r1[1] <= r2[1] ? [r1, r2] : [r2, r1]
  return [tl, tr, br, bl]
}

/** Signed shoelace area: positive when counter-clockwise in y-up terms. */
export function signedArea(poly: readonly Point[]): number {
  let s = 0
  for (let i = 0; i < poly.length; i++) {
    const a = poly[i]!
    const b = poly[(i + 1) % poly.length]!
    s += a[0] * b[1] - b[0] * a[1]
  }
  return s / 2
}

function ccw(poly: readonly Point[]): Point[] {
  return signedArea(poly) < 0 ? [...poly].reverse() : [...poly]
}

/** Intersection of two convex polygons (Sutherland–Hodgman). */
export function clipConvex(subject: readonly Point[], clip: readonly Point[]): Point[] {
  let out = ccw(subject)
  const c = ccw(clip)
  for (let i = 0; i < c.length && out.length > 0; i++) {
    const a = c[i]!
    const b = c[(i + 1) % c.length]!
    const input = out
    out = []
    for (let j = 0; j < input.length; j++) {
      const p = input[j]!
      const q = input[(j + 1) % input.length]!
      const pIn = cross(a, b, p) >= 0
      const qIn = cross(a, b, q) >= 0
      if (pIn) out.push(p)
      if (pIn !== qIn) {
        const dp = cross(a, b, p)
        const t = dp / (dp - cross(a, b, q))
        out.push([p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t])
      }
    }
  }
  return out
}

/** Intersection over union of two convex polygons. */
export function iou(a: readonly Point[], b: readonly Point[]): number {
  const inter = Math.abs(signedArea(clipConvex(a, b)))
  const union = Math.abs(signedArea(a)) + Math.abs(signedArea(b)) - inter
  return union > 0 ? inter / union : 0
}

/** Greedy non-maximum suppression: indices kept, best score first. */
export function nms(items: readonly { points: readonly Point[]; score: number }[], iouThreshold: number): number[] {
  const order = items.map((_, i) => i).sort((i, j) => items[j]!.score - items[i]!.score)
  const kept: number[] = []
  for (const i of order) {
    if (kept.every((k) => iou(items[k]!.points, items[i]!.points) <= iouThreshold)) kept.push(i)
  }
  return kept
}
