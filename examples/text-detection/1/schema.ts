/** Instance and answer schemas shared by the text-detection and ocr examples. */

import { imageSchema } from 'carafe'

/** A 200x48 PNG reading "Carafe 42" (DejaVu Sans): the warm-up input and the playground's example. */
export const EXAMPLE_IMAGE =
  'iVBORw0KGgoAAAANSUhEUgAAAMgAAAAwAgMAAAAp9915AAAADFBMVEX///8NDQ11dXW9vb3sEEDvAAAACXBIWXMAAAsTAAALEwEAmpwYAAABpklEQVRIx+2UvUrDUBTHT3LJcIfYKfgEd3e5IF3M4p6hNy1SMAiCikMW97v0DRrtCwQkdOgbeMFnqLNLFwfxAYR6zk1bErhxFskZSs9pfznnfz4C0Ftv/8bYd8srTcP5ciOFWjU8rvZIpFmROolQqUnDDV4Oj9L4U+5C5D2bN91DUUqHK564kMjAacMV+y/egx6AP3Uhj/QxXAF7XbIPwzZbOFpaUTONqSYuZGT1pMDPR0JNfaWwH7bCABFwIfY54V2huXoW1dgvKi8tY4wdE8JchdkgAx7zKZxAhFp4HmYYWxDiueTvBHoZz2y/BASa4R9ZQogNdiB+xqmawAhqM8a8nBCpO5GNIgS1IyK2n6iPa0LW0IV4SiWIyBqx6yCxQGAj6OoYz31C3gwVJqoKByOq8gZC5/DtXAJjkbnVUs8fc41Bxk7kyTbKI2QBkuTbVR5SlrV792nHpOF1lshQk3c7rd1SMEPG5kEsrRYoEMFZvNdIeLn96roXfpESEt1eI+KrMqkR3j6l1lX66oqQQM0QgXV9WL8gA7z9s+ZboP0y6K23v28/qHR0zjSkP94AAAAASUVORK5CYII='

const fraction = (description: string) => ({ type: 'number', minimum: 0, maximum: 1, description })

/** {image, scoreThreshold?, nmsIou?, maxResults?, minWidth?, minHeight?} */
export const detectionInput = {
  type: 'object',
  properties: {
    image: imageSchema(),
    scoreThreshold: fraction('boxes with a lower mean text probability are dropped (default 0)'),
    nmsIou: fraction('a box overlapping a better one by more than this IoU is dropped (default 0.5)'),
    maxResults: {
      type: 'integer',
      minimum: 1,
      maximum: 1000,
      description: 'at most this many boxes, best first (default 100)',
    },
    minWidth: fraction('minimum box width as a fraction of the image width (default 0)'),
    minHeight: fraction('minimum box height as a fraction of the image height (default 0)'),
  },
  required: ['image'],
  additionalProperties: false,
}

const point = { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 }

/** One box: four corners in image pixels (top-left, top-right, bottom-right, bottom-left), normalized bounds, score. */
export const boxSchema = {
  type: 'object',
  properties: {
    points: { type: 'array', items: point, minItems: 4, maxItems: 4 },
    box: {
      type: 'array',
      items: { type: 'number', minimum: 0, maximum: 1 },
      minItems: 4,
      maxItems: 4,
      description: '[x0, y0, x1, y1] as fractions of the image',
    },
    score: { type: 'number' },
  },
  required: ['points', 'box', 'score'],
}

export interface DetectionRequest {
  image: unknown
  scoreThreshold?: number
  nmsIou?: number
  maxResults?: number
  minWidth?: number
  minHeight?: number
}

/** Per-request options in ocr-lib's names; absent ones keep its defaults. */
export function detectionOptions(r: DetectionRequest) {
  const options: Record<string, number> = {}
  if (r.scoreThreshold !== undefined) options.scoreThreshold = r.scoreThreshold
  if (r.nmsIou !== undefined) options.nmsIou = r.nmsIou
  if (r.maxResults !== undefined) options.maxResults = r.maxResults
  if (r.minWidth !== undefined) options.minWidth = r.minWidth
  if (r.minHeight !== undefined) options.minHeight = r.minHeight
  return options
}

/** Boxes rounded to a tenth of a pixel: more digits are noise in the answer. */
export function roundBox<T extends { points: number[][]; box: number[]; score: number }>(b: T): T {
  const r = (x: number, k: number) => Math.round(x * k) / k
  return {
    ...b,
    points: b.points.map(([x, y]) => [r(x!, 10), r(y!, 10)]),
    box: b.box.map((v) => r(v, 1e5)),
    score: r(b.score, 1e4),
  }
}
