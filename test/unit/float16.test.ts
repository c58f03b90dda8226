import assert from 'node:assert/strict'
import { it } from 'node:test'
import { fromHalfBits, toHalfBits } from '../../src/model/float16.js'

// Bit patterns from the IEEE 754 binary16 layout: sign, 5-bit exponent (bias 15), 10-bit mantissa.
const KNOWN: [number, number][] = [
  [0, 0x0000],
  [-0, 0x8000],
  [1, 0x3c00],
  [-2, 0xc000],
  [0.5, 0x3800],
  [1.5, 0x3e00],
  [65504, 0x7bff], // largest finite
  [2 ** -14, 0x0400], // smallest normal
  [2 ** -24, 0x0001], // smallest subnormal
  [Number.POSITIVE_INFINITY, 0x7c00],
  [Number.NEGATIVE_INFINITY, 0xfc00],
]

it('converts numbers to half-precision bit patterns and back', () => {
  for (const [value, bits] of KNOWN) {
    assert.equal(toHalfBits(value), bits, `${value}`)
    assert.ok(Object.is(fromHalfBits(bits), value), `${bits.toString(16)}`)
  }
  assert.ok(Number.isNaN(fromHalfBits(toHalfBits(Number.NaN))))
})

it('rounds to the nearest half, ties to even, and overflows to infinity', () => {
  assert.equal(toHalfBits(1 + 2 ** -11), 0x3c00) // halfway between 1 and the next half: ties to even (down)
  assert.equal(toHalfBits(1 + 3 * 2 ** -11), 0x3c02) // halfway between 1+2^-10 and 1+2^-9: ties to even (up)
  assert.equal(toHalfBits(0.1), 0x2e66)
  assert.equal(toHalfBits(65519), 0x7bff)
  assert.equal(toHalfBits(65520), 0x7c00)
  assert.equal(toHalfBits(2 ** -26), 0x0000)
})
