/** Straightening a (possibly rotated) text box out of the original pixels, written over raw RGB. */

import type { Quad } from './geometry.js'
import type { RawImage } from './image.js'

// Samples per output pixel per axis when shrinking: enough to average away aliasing on thin strokes
// without making a huge crop cost more than its area.
const MAX_SUPERSAMPLE = 4

/**
 * Maps the quad (top-left, top-right, bottom-right, bottom-left) onto an `outWidth x outHeight` RGB
 * image. The quad is treated as a parallelogram (p0, p1, p3), exact for the rectangles DB produces;
 * bilinear sampling with edge replication, as cv2.warpPerspective with BORDER_REPLICATE.
 */
export function cropQuad(image: RawImage, quad: Quad, outWidth: number, outHeight: number): Uint8Array {
  const [p0, p1, , p3] = quad
  const ux = (p1[0] - p0[0]) / outWidth
  const uy = (p1[1] - p0[1]) / outWidth
  const vx = (p3[0] - p0[0]) / outHeight
  const vy = (p3[1] - p0[1]) / outHeight
  const ss = Math.min(MAX_SUPERSAMPLE, Math.max(1, Math.ceil(Math.max(Math.hypot(ux, uy), Math.hypot(vx, vy)))))
  const out = new Uint8Array(outWidth * outHeight * 3)
  const rgb = [0, 0, 0]
  for (let oy = 0; oy < outHeight; oy++) {
    for (let ox = 0; ox < outWidth; ox++) {
      rgb[0] = rgb[1] = rgb[2] = 0
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          // Pixel centres sit at +0.5 in both spaces.
          const a = ox + (sx + 0.5) / ss
          const b = oy + (sy + 0.5) / ss
          sampleBilinear(image, p0[0] + a * ux + b * vx - 0.5, p0[1] + a * uy + b * vy - 0.5, rgb)
        }
      }
      const o = (oy * outWidth + ox) * 3
      const n = ss * ss
      out[o] = Math.round(rgb[0]! / n)
      out[o + 1] = Math.round(rgb[1]! / n)
      out[o + 2] = Math.round(rgb[2]! / n)
    }
  }
  return out
}

function sampleBilinear({ data, width, height }: RawImage, x: number, y: number, acc: number[]): void {
  const cx = Math.min(Math.max(x, 0), width - 1)
  const cy = Math.min(Math.max(y, 0), height - 1)
  const x0 = Math.floor(cx)
  const y0 = Math.floor(cy)
  const x1 = Math.min(x0 + 1, width - 1)
  const y1 = Math.min(y0 + 1, height - 1)
  const fx = cx - x0
  const fy = cy - y0
  const w00 = (1 - fx) * (1 - fy)
  const w10 = fx * (1 - fy)
  const w01 = (1 - fx) * fy
  const w11 = fx * fy
  const i00 = (y0 * width + x0) * 3
  const i10 = (y0 * width + x1) * 3
  const i01 = (y1 * width + x0) * 3
  const i11 = (y1 * width + x1) * 3
  for (let c = 0; c < 3; c++) {
    acc[c]! += data[i00 + c]! * w00 + data[i10 + c]! * w10 + data[i01 + c]! * w01 + data[i11 + c]! * w11
  }
}
