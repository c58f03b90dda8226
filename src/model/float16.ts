// IEEE 754 half precision as the 16-bit patterns onnxruntime-node takes and returns for float16 tensors (Node 20 has
// no Float16Array).
const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

/** A number rounded to the nearest half-precision value (ties to even), as its bit pattern. */
export function toHalfBits(value: number): number {
  f32[0] = value
  const x = u32[0]
  const sign = (x >>> 16) & 0x8000
  const exponent = (x >>> 23) & 0xff
  let mantissa = x & 0x7fffff
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0) // Infinity, NaN
  const e = exponent - 127 + 15
  if (e >= 0x1f) return sign | 0x7c00 // too large: Infinity
  if (e <= 0) {
    if (e < -10) return sign // too small: signed zero
    mantissa |= 0x800000
    const shift = 14 - e
    const half = 1 << (shift - 1)
    const rest = mantissa & ((1 << shift) - 1)
    let bits = mantissa >>> shift
    if (rest > half || (rest === half && bits & 1)) bits++
    return sign | bits
  }
  let bits = (e << 10) | (mantissa >>> 13)
  const rest = mantissa & 0x1fff
  if (rest > 0x1000 || (rest === 0x1000 && bits & 1)) bits++ // may carry into the exponent, which is still right
  return sign | bits
}

/** The number a half-precision bit pattern stands for. */
export function fromHalfBits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exponent = (bits >>> 10) & 0x1f
  const mantissa = bits & 0x3ff
  if (exponent === 0) return sign * mantissa * 2 ** -24
  if (exponent === 0x1f) return mantissa ? Number.NaN : sign * Number.POSITIVE_INFINITY
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15)
}

/** The largest finite half-precision value; larger magnitudes (from 65520 on) round to Infinity. */
export const HALF_MAX = 65504
