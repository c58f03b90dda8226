import { CarafeError } from '../../errors.js'
import { invalidRequest } from './v2-request.js'

/**
 * The Binary Tensor Data extension: a JSON header of `Inference-Header-Content-Length` bytes, then each binary tensor's
 * bytes in the order of the tensors in the JSON (little-endian, row-major; BYTES elements as a 4-byte length and the bytes).
 */
export const HEADER_LENGTH = 'inference-header-content-length'

/** The JSON header text and the binary part of a body; a body without the header is all JSON. */
export function splitBody(body: Buffer, headerLength: string | string[] | undefined): { json: string; binary: Buffer } {
  if (headerLength === undefined) return { json: body.toString('utf8'), binary: body.subarray(body.length) }
  const length = Number(headerLength)
  if (typeof headerLength !== 'string' || !/^\d+$/.test(headerLength) || length > body.length) {
    throw new CarafeError(
      'INVALID_INPUT',
      `Inference-Header-Content-Length must be the byte length of the JSON header, at most the body's ${body.length} bytes`,
    )
  }
  return { json: body.subarray(0, length).toString('utf8'), binary: body.subarray(length) }
}

/** Reads consecutive tensors out of the binary part, and checks at the end that every byte was claimed. */
export class BinaryReader {
  #offset = 0
  readonly #binary: Buffer
  constructor(binary: Buffer) {
    this.#binary = binary
  }

  take(size: number, name: string, index: number): Buffer {
    if (this.#offset + size > this.#binary.length) {
      throw invalidRequest(
        `/inputs/${index}/parameters/binary_data_size`,
        `input "${name}": binary_data_size ${size} runs past the end of the binary data (${this.#binary.length - this.#offset} bytes left)`,
      )
    }
    const part = this.#binary.subarray(this.#offset, this.#offset + size)
    this.#offset += size
    return part
  }

  finish(): void {
    if (this.#offset !== this.#binary.length) {
      throw invalidRequest(
        '/inputs',
        `the body carries ${this.#binary.length} bytes of binary data, but the inputs' binary_data_size add up to ${this.#offset}`,
      )
    }
  }
}

/** BYTES elements of a binary tensor: each a 4-byte little-endian length, then that many bytes. */
export function readBytesElements(part: Buffer, count: number, name: string, index: number): Buffer[] {
  const out: Buffer[] = []
  let offset = 0
  while (offset < part.length) {
    if (out.length === count || offset + 4 > part.length) break
    const length = part.readUInt32LE(offset)
    if (offset + 4 + length > part.length) break
    out.push(part.subarray(offset + 4, offset + 4 + length))
    offset += 4 + length
  }
  if (out.length !== count || offset !== part.length) {
    throw invalidRequest(
      `/inputs/${index}/parameters/binary_data_size`,
      `input "${name}": its ${part.length} binary bytes do not hold exactly ${count} BYTES elements (4-byte length, then the bytes)`,
    )
  }
  return out
}

/** BYTES elements as the binary extension writes them. */
export function writeBytesElements(values: string[]): Buffer {
  const parts = values.map((v) => Buffer.from(String(v), 'utf8'))
  const out = Buffer.allocUnsafe(parts.reduce((sum, p) => sum + 4 + p.length, 0))
  let offset = 0
  for (const part of parts) {
    out.writeUInt32LE(part.length, offset)
    part.copy(out, offset + 4)
    offset += 4 + part.length
  }
  return out
}

/** The response body when some outputs are binary: the JSON header, then the outputs' bytes in order. */
export function binaryResponse(header: unknown, parts: Buffer[]): { body: Buffer; headerLength: number } {
  const json = Buffer.from(JSON.stringify(header), 'utf8')
  return { body: Buffer.concat([json, ...parts]), headerLength: json.length }
}
