import { fromHalfBits, HALF_MAX, integerRange, type OrtType, toHalfBits } from '../../model/index.js'

/** The Open Inference Protocol's name for each element type ONNX has. */
export const DATATYPES: Record<OrtType, string> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
}

/** How one element of a fixed-size type is checked in JSON and read or written in the binary extension (little-endian). */
export interface FixedElement {
  bytes: number
  /** Why a JSON value cannot be this element, or undefined when it can. */
  problem(value: unknown): string | undefined
  read(view: DataView, offset: number): number | boolean
  write(view: DataView, offset: number, value: unknown): void
  /** A little-endian typed view of whole elements, where one exists whose values are already JSON's (the fast path). */
  array?: (buffer: ArrayBuffer) => ArrayLike<number>
}

// The largest finite float32, the model's JSON Schema bound too: V2 rows skip that schema, so they are held to it here
// (a JSON number a little above it would round to it in a Float32Array, but the schema refuses it over V1).
const FLOAT32_MAX = 3.4028234663852886e38

// Typed arrays use the platform's byte order; the binary extension's is little-endian.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
const view = <T extends ArrayLike<number>>(make: (b: ArrayBuffer) => T) => (LITTLE_ENDIAN ? make : undefined)

// the same range the V1 schema holds an integer to (64-bit ones stop at 2^53, where a JSON number stops being exact)
const integer = (type: OrtType): Pick<FixedElement, 'problem'> => {
  const [min, max] = integerRange(type)!
  return {
    problem: (x) =>
      typeof x !== 'number' || !Number.isInteger(x)
        ? 'must be an integer'
        : x < min || x > max
          ? `is out of range [${min}, ${max}]`
          : undefined,
  }
}

const float = (fits: (x: number) => boolean, range: string): Pick<FixedElement, 'problem'> => ({
  problem: (x) =>
    typeof x !== 'number' || !Number.isFinite(x)
      ? 'must be a number'
      : fits(x)
        ? undefined
        : `is out of range ${range}`,
})

export const ELEMENTS: Record<Exclude<OrtType, 'string'>, FixedElement> = {
  bool: {
    bytes: 1,
    problem: (x) => (typeof x === 'boolean' ? undefined : 'must be true or false'),
    read: (v, o) => v.getUint8(o) !== 0,
    write: (v, o, x) => v.setUint8(o, x ? 1 : 0),
  },
  uint8: {
    bytes: 1,
    array: view((b) => new Uint8Array(b)),
    ...integer('uint8'),
    read: (v, o) => v.getUint8(o),
    write: (v, o, x) => v.setUint8(o, x as number),
  },
  uint16: {
    bytes: 2,
    array: view((b) => new Uint16Array(b)),
    ...integer('uint16'),
    read: (v, o) => v.getUint16(o, true),
    write: (v, o, x) => v.setUint16(o, x as number, true),
  },
  uint32: {
    bytes: 4,
    array: view((b) => new Uint32Array(b)),
    ...integer('uint32'),
    read: (v, o) => v.getUint32(o, true),
    write: (v, o, x) => v.setUint32(o, x as number, true),
  },
  // 64-bit integers travel as JSON numbers: exact up to 2^53
  uint64: {
    bytes: 8,
    ...integer('uint64'),
    read: (v, o) => Number(v.getBigUint64(o, true)),
    write: (v, o, x) => v.setBigUint64(o, BigInt(x as number), true),
  },
  int8: {
    bytes: 1,
    array: view((b) => new Int8Array(b)),
    ...integer('int8'),
    read: (v, o) => v.getInt8(o),
    write: (v, o, x) => v.setInt8(o, x as number),
  },
  int16: {
    bytes: 2,
    array: view((b) => new Int16Array(b)),
    ...integer('int16'),
    read: (v, o) => v.getInt16(o, true),
    write: (v, o, x) => v.setInt16(o, x as number, true),
  },
  int32: {
    bytes: 4,
    array: view((b) => new Int32Array(b)),
    ...integer('int32'),
    read: (v, o) => v.getInt32(o, true),
    write: (v, o, x) => v.setInt32(o, x as number, true),
  },
  int64: {
    bytes: 8,
    ...integer('int64'),
    read: (v, o) => Number(v.getBigInt64(o, true)),
    write: (v, o, x) => v.setBigInt64(o, BigInt(x as number), true),
  },
  float16: {
    bytes: 2,
    ...float((x) => Math.abs(x) < HALF_MAX + 16, `for FP16 (±${HALF_MAX})`),
    read: (v, o) => fromHalfBits(v.getUint16(o, true)),
    write: (v, o, x) => v.setUint16(o, toHalfBits(x as number), true),
  },
  float32: {
    bytes: 4,
    array: view((b) => new Float32Array(b)),
    ...float((x) => Math.abs(x) <= FLOAT32_MAX, 'for FP32 (±3.4e38)'),
    read: (v, o) => v.getFloat32(o, true),
    write: (v, o, x) => v.setFloat32(o, x as number, true),
  },
  float64: {
    bytes: 8,
    array: view((b) => new Float64Array(b)),
    ...float(() => true, ''),
    read: (v, o) => v.getFloat64(o, true),
    write: (v, o, x) => v.setFloat64(o, x as number, true),
  },
}

export const bytesProblem = (x: unknown): string | undefined => (typeof x === 'string' ? undefined : 'must be a string')

/**
 * The index of the first element that is not of the type, or -1. One loop per common type: a shared loop calling each
 * type's check through a closure cost several times more per element (measured on 256 floats).
 */
export function firstBadElement(values: unknown[], type: OrtType): number {
  switch (type) {
    case 'float32':
      for (let i = 0; i < values.length; i++) {
        const x = values[i]
        if (typeof x !== 'number' || !(Math.abs(x) <= FLOAT32_MAX)) return i
      }
      return -1
    case 'float64':
      for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return i
      return -1
    case 'string':
      for (let i = 0; i < values.length; i++) if (typeof values[i] !== 'string') return i
      return -1
    default: {
      const { problem } = ELEMENTS[type]
      for (let i = 0; i < values.length; i++) if (problem(values[i]) !== undefined) return i
      return -1
    }
  }
}
