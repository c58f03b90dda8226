import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { connectedComponents } from '../../examples/ocr-lib/components.js'
import { charsetFromDictionary, ctcGreedyDecode } from '../../examples/ocr-lib/ctc.js'
import { detectionSize } from '../../examples/ocr-lib/detection-pre.js'
import { postprocessDetection } from '../../examples/ocr-lib/detection-post.js'
import {
  convexHull,
  iou,
  minAreaRect,
  nms,
  orderClockwise,
  rectCorners,
  type Point,
  type Quad,
} from '../../examples/ocr-lib/geometry.js'
import { readingOrder } from '../../examples/ocr-lib/reading-order.js'

const near = (actual: number, expected: number, tol = 1e-6, what = ''): void =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} is not within ${tol} of ${expected}`)

function rotated(cx: number, cy: number, w: number, h: number, degrees: number): Point[] {
  const a = (degrees * Math.PI) / 180
  return [
    [-w / 2, -h / 2],
    [w / 2, -h / 2],
    [w / 2, h / 2],
    [-w / 2, h / 2],
  ].map(([x, y]): Point => [cx + x! * Math.cos(a) - y! * Math.sin(a), cy + x! * Math.sin(a) + y! * Math.cos(a)])
}

// Deterministic PRNG so a failure reproduces.
function lcg(seed: number): () => number {
  let s = seed
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

function bruteForceMinArea(points: Point[]): number {
  const hull = convexHull(points)
  let best = Infinity
  for (let i = 0; i < hull.length; i++) {
    const p = hull[i]!
    const q = hull[(i + 1) % hull.length]!
    const len = Math.hypot(q[0] - p[0], q[1] - p[1])
    const u = [(q[0] - p[0]) / len, (q[1] - p[1]) / len] as const
    const us = hull.map((r) => r[0] * u[0] + r[1] * u[1])
    const ns = hull.map((r) => -r[0] * u[1] + r[1] * u[0])
    best = Math.min(best, (Math.max(...us) - Math.min(...us)) * (Math.max(...ns) - Math.min(...ns)))
  }
  return best
}

describe('minAreaRect', () => {
  it('recovers a 100x20 rectangle rotated by 30° from its corners and interior points', () => {
    const corners = rotated(50, 40, 100, 20, 30)
    const interior: Point[] = [
      [50, 40],
      [60, 45],
      [40, 35],
    ]
    const rect = minAreaRect([...interior, ...corners])
    near(rect.center[0], 50, 1e-6, 'cx')
    near(rect.center[1], 40, 1e-6, 'cy')
    const sides = [2 * rect.halfU, 2 * rect.halfN].sort((a, b) => a - b)
    near(sides[0]!, 20, 1e-6, 'short side')
    near(sides[1]!, 100, 1e-6, 'long side')
    const got = orderClockwise(rectCorners(rect))
    const want = orderClockwise(corners)
    got.forEach((p, i) => {
      near(p[0], want[i]![0], 1e-6)
      near(p[1], want[i]![1], 1e-6)
    })
  })

  it('matches a brute-force search over every hull edge on random point clouds', () => {
    const rand = lcg(7)
    for (let trial = 0; trial < 200; trial++) {
      const points = Array.from(
        { length: 3 + Math.floor(rand() * 40) },
        (): Point => [rand() * 100, rand() * 30 + rand() * 50],
      )
      const rect = minAreaRect(points)
      near(4 * rect.halfU * rect.halfN, bruteForceMinArea(points), 1e-6, `trial ${trial}`)
    }
  })

  it('gives a zero-height rectangle for collinear points', () => {
    const rect = minAreaRect([
      [0, 5],
      [10, 5],
      [4, 5],
    ])
    near(2 * rect.halfU, 10)
    near(rect.halfN, 0)
  })
})

describe('orderClockwise', () => {
  it('starts at the top-left and goes clockwise on screen', () => {
    assert.deepEqual(
      orderClockwise([
        [10, 10],
        [0, 10],
        [10, 0],
        [0, 0],
      ]),
      [
        [0, 0],
        [10, 0],
        [10, 10],
        [0, 10],
      ],
    )
  })
})

describe('iou and nms', () => {
  const square = (x: number, y: number, s = 1): Quad => [
    [x, y],
    [x + s, y],
    [x + s, y + s],
    [x, y + s],
  ]

  it('knows the IoU of simple pairs', () => {
    near(iou(square(0, 0), square(0, 0)), 1)
    near(iou(square(0, 0), square(0.5, 0)), 1 / 3)
    near(iou(square(0, 0), square(2, 2)), 0)
    // A square and its copy turned 45° about the centre overlap in a regular octagon: IoU = 1/√2.
    near(iou(rotated(0, 0, 2, 2, 0), rotated(0, 0, 2, 2, 45)), Math.SQRT1_2)
  })

  it('keeps the best of overlapping boxes and every separate one', () => {
    const items = [
      { points: square(0, 0, 10), score: 0.7 },
      { points: square(1, 0, 10), score: 0.9 }, // IoU with the first: 90/110
      { points: square(50, 50, 10), score: 0.6 },
    ]
    assert.deepEqual(nms(items, 0.5), [1, 2])
    assert.deepEqual(nms(items, 0.95), [1, 0, 2])
  })
})

describe('connectedComponents', () => {
  it('joins diagonal neighbours (8-connectivity) and reports row extremes', () => {
    const bitmap = Uint8Array.from([1, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0])
    const parts = connectedComponents(bitmap, 5, 3, 10)
    assert.equal(parts.length, 2)
    assert.equal(parts[0]!.pixelCount, 4)
    assert.deepEqual(parts[0]!.rowExtremes, [
      [0, 0],
      [0, 0],
      [1, 1],
      [1, 1],
      [1, 2],
      [2, 2],
    ])
    assert.equal(connectedComponents(bitmap, 5, 3, 1).length, 1)
  })
})

describe('postprocessDetection', () => {
  it('turns a solid blob into one unclipped box scaled to the original image', () => {
    const [w, h] = [100, 50]
    const map = new Float32Array(w * h)
    for (let y = 20; y <= 29; y++) for (let x = 20; x <= 79; x++) map[y * w + x] = 0.9
    const boxes = postprocessDetection(map, { mapWidth: w, mapHeight: h, originalWidth: 200, originalHeight: 100 })
    assert.equal(boxes.length, 1)
    // Hull of pixel centres is 59 x 9; offset = area * 1.5 / perimeter, then x2 to the original.
    const d = (59 * 9 * 1.5) / (2 * (59 + 9))
    const want: Quad = [
      [(20 - d) * 2, (20 - d) * 2],
      [(79 + d) * 2, (20 - d) * 2],
      [(79 + d) * 2, (29 + d) * 2],
      [(20 - d) * 2, (29 + d) * 2],
    ]
    boxes[0]!.points.forEach((p, i) => {
      near(p[0], want[i]![0], 1e-6)
      near(p[1], want[i]![1], 1e-6)
    })
    near(boxes[0]!.score, 0.9, 1e-6)
    near(boxes[0]!.box[0], ((20 - d) * 2) / 200)
  })

  it('drops blobs below boxThresh and thinner than 3 map pixels', () => {
    const [w, h] = [40, 20]
    const map = new Float32Array(w * h)
    for (let x = 2; x < 30; x++) map[5 * w + x] = 0.9 // one pixel tall
    for (let y = 10; y < 16; y++) for (let x = 2; x < 30; x++) map[y * w + x] = 0.5 // under 0.6
    assert.deepEqual(postprocessDetection(map, { mapWidth: w, mapHeight: h, originalWidth: w, originalHeight: h }), [])
  })
})

describe('readingOrder', () => {
  it('sorts lines top to bottom and boxes left to right within a line', () => {
    const box = (x: number, y: number, name: string) => ({
      name,
      points: [
        [x, y],
        [x + 20, y],
        [x + 20, y + 10],
        [x, y + 10],
      ] as Quad,
    })
    const order = readingOrder([box(50, 42, 'c'), box(60, 1, 'b'), box(0, 3, 'a'), box(0, 40, 'd')]).map((b) => b.name)
    assert.deepEqual(order, ['a', 'b', 'd', 'c'])
  })
})

describe('detectionSize', () => {
  it('caps the longer side and snaps each side to 32 with Python rounding', () => {
    assert.deepEqual(detectionSize(640, 240), { width: 640, height: 256 }) // 7.5 → 8 (even)
    assert.deepEqual(detectionSize(640, 208), { width: 640, height: 192 }) // 6.5 → 6 (even)
    assert.deepEqual(detectionSize(2000, 1000), { width: 960, height: 480 })
    assert.deepEqual(detectionSize(10, 10), { width: 32, height: 32 })
  })
})

describe('CTC decoding', () => {
  it('builds blank + dictionary + space and collapses repeats only without a blank between', () => {
    const charset = charsetFromDictionary('a\nb\n')
    assert.deepEqual(charset, ['', 'a', 'b', ' '])
    const steps = [1, 1, 0, 1, 2, 2, 3, 0] // a a _ a b b ␣ _
    const probs = new Float32Array(steps.length * 4).fill(0.1)
    steps.forEach((c, t) => {
      probs[t * 4 + c] = 0.7
    })
    probs[0 * 4 + 1] = 0.9
    const [read] = ctcGreedyDecode(probs, [1, steps.length, 4], charset)
    assert.equal(read!.text, 'aab ')
    near(read!.confidence, (0.9 + 0.7 + 0.7 + 0.7) / 4)
    assert.throws(() => ctcGreedyDecode(probs, [1, steps.length, 4], ['', 'a', 'b']), /4 classes but the charset has 3/)
  })
})
