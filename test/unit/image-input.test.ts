import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { deflateSync } from 'node:zlib'
import sharp from 'sharp'
import { decodeImageInput, imageBytes } from '../../src/model/image.js'

const png = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0.5 } } })
    .png()
    .toBuffer()

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: { code?: string; message?: string }) => {
    assert.equal(error.code, code, error.message)
    return true
  })
}

/** A PNG whose header claims width × height, with a few bytes of pixel data: what a decompression bomb sends. */
function pngHeader(width: number, height: number): Buffer {
  const crc = (bytes: Buffer) => {
    let c = 0xffffffff
    for (const byte of bytes) {
      c ^= byte
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    }
    return (c ^ 0xffffffff) >>> 0
  }
  const chunk = (type: string, data: Buffer) => {
    const out = Buffer.alloc(12 + data.length)
    out.writeUInt32BE(data.length, 0)
    out.write(type, 4, 'latin1')
    data.copy(out, 8)
    out.writeUInt32BE(crc(out.subarray(4, 8 + data.length)), 8 + data.length)
    return out
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 2 // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(64))),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

describe('decodeImageInput', () => {
  it('refuses a PNG whose header claims 50k × 50k pixels with IMAGE_TOO_LARGE, from the header alone', async () => {
    await rejectsWith(decodeImageInput(pngHeader(50_000, 50_000).toString('base64')), 'IMAGE_TOO_LARGE')
  })

  it('decodes base64, a data URL and {"b64"} to the same RGB pixels', async () => {
    const b64 = (await png(7, 5)).toString('base64')
    for (const value of [b64, `data:image/png;base64,${b64}`, { b64 }, `data:;base64,${b64}`]) {
      const image = await decodeImageInput(value)
      assert.equal(image.width, 7)
      assert.equal(image.height, 5)
      assert.equal(image.data.length, 7 * 5 * 3)
    }
  })

  it('refuses what is not an image with INVALID_IMAGE', async () => {
    await rejectsWith(decodeImageInput('not base64 at all!'), 'INVALID_IMAGE')
    await rejectsWith(decodeImageInput(Buffer.from('hello, plain text').toString('base64')), 'INVALID_IMAGE')
    await rejectsWith(decodeImageInput(42), 'INVALID_IMAGE')
    await rejectsWith(decodeImageInput({ url: 'http://x' }), 'INVALID_IMAGE')
    await rejectsWith(decodeImageInput(''), 'INVALID_IMAGE')
    await rejectsWith(decodeImageInput('data:image/png,rawbytes'), 'INVALID_IMAGE')
    const truncated = (await png(64, 64)).subarray(0, 60).toString('base64')
    await rejectsWith(decodeImageInput(truncated), 'INVALID_IMAGE')
  })

  it('refuses an image over the byte or pixel limit with IMAGE_TOO_LARGE', async () => {
    const b64 = (await png(100, 100)).toString('base64')
    await rejectsWith(decodeImageInput(b64, { maxPixels: 9_999 }), 'IMAGE_TOO_LARGE')
    await rejectsWith(decodeImageInput(b64, { maxBytes: 50 }), 'IMAGE_TOO_LARGE')
    assert.throws(() => imageBytes('A'.repeat(4000), { maxBytes: 1000 }), { code: 'IMAGE_TOO_LARGE' })
    assert.equal((await decodeImageInput(b64, { maxPixels: 10_000 })).width, 100)
  })
})
