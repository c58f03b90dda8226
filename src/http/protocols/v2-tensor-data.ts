import type { OrtType, TensorInfo } from '../../model/index.js'
import { type TensorLike, unflatten } from '../../model/tensor.js'
import { type BinaryReader, readBytesElements } from './v2-binary.js'
import { bytesProblem, ELEMENTS, type FixedElement, firstBadElement } from './v2-datatypes.js'
import { invalidRequest, type RequestInput } from './v2-request.js'

/** A V2 input's elements, from JSON `data` or from the binary part, checked for their datatype; rows for instances. */

/** Row-major elements of flat or nested `data`, each checked for the datatype; nesting may not go deeper than the shape. */
export function flattenData(input: RequestInput, type: OrtType, size: number): unknown[] {
  const at = `/inputs/${input.index}/data`
  const shape = `[${input.shape.join(', ')}]`
  const data = input.data!
  // flat data (the protocol's row-major form, and what most clients send) is taken as it is
  const flat = data.some(Array.isArray) ? flattenNested(input, size) : data
  if (flat.length > size)
    throw invalidRequest(at, `input "${input.name}": "data" holds more than the ${size} elements of shape ${shape}`)
  if (flat.length < size)
    throw invalidRequest(
      at,
      `input "${input.name}": "data" holds ${flat.length} elements; shape ${shape} needs ${size}`,
    )
  const bad = firstBadElement(flat, type)
  if (bad >= 0) {
    const why = (type === 'string' ? bytesProblem : ELEMENTS[type].problem)(flat[bad])
    throw invalidRequest(at, `input "${input.name}": element ${bad} ${why} (${input.datatype})`, { element: bad })
  }
  return flat
}

/** Nested data flattened without recursion, refusing nesting deeper than the shape and stopping past `size` elements. */
function flattenNested(input: RequestInput, size: number): unknown[] {
  const depth = Math.max(1, input.shape.length)
  const out: unknown[] = []
  const stack: { items: unknown[]; next: number }[] = [{ items: input.data!, next: 0 }]
  while (stack.length > 0) {
    const top = stack[stack.length - 1]
    if (top.next === top.items.length) {
      stack.pop()
      continue
    }
    const value = top.items[top.next++]
    if (Array.isArray(value)) {
      if (stack.length === depth)
        throw invalidRequest(
          `/inputs/${input.index}/data`,
          `input "${input.name}": "data" is nested deeper than its shape [${input.shape.join(', ')}]`,
        )
      stack.push({ items: value, next: 0 })
      continue
    }
    out.push(value)
    if (out.length > size) break // enough to say it does not fit
  }
  return out
}

/** One row per instance: a slice of the flat elements when a row is one-dimensional, nested arrays otherwise. */
export function rowsOf(flat: unknown[], inner: number[], rows: number): unknown[] {
  if (inner.length === 0) return flat.slice(0, rows)
  if (inner.length === 1)
    return rows === 1 ? [flat] : Array.from({ length: rows }, (_, r) => flat.slice(r * inner[0], (r + 1) * inner[0]))
  const stride = inner.reduce((a, b) => a * b, 1)
  return Array.from({ length: rows }, (_, r) => unflatten(flat, inner, r * stride))
}

export function readBinary(input: RequestInput, info: TensorInfo, size: number, reader: BinaryReader, image: boolean) {
  const part = reader.take(input.binarySize!, input.name, input.index)
  // an image field's BYTES are the image file itself, which the image decoder takes as base64
  if (info.type === 'string')
    return readBytesElements(part, size, input.name, input.index).map((b) => b.toString(image ? 'base64' : 'utf8'))
  const element = ELEMENTS[info.type]
  const out = readElements(input, info, size, part, element)
  return element.array ? toArray(out as ArrayLike<number>) : (out as unknown[])
}

/**
 * The elements of a binary input of a type with a typed view (`typedView`), as that typed array: no JS array of
 * numbers is built; the rows go to the model as views on it.
 */
export function readBinaryTyped(
  input: RequestInput,
  info: TensorInfo,
  size: number,
  reader: BinaryReader,
): NumberArray {
  const part = reader.take(input.binarySize!, input.name, input.index)
  return readElements(input, info, size, part, ELEMENTS[info.type as Exclude<OrtType, 'string'>]) as NumberArray
}

/** A typed array of numbers that can be viewed in slices. */
export type NumberArray = ArrayLike<number> & { subarray(begin: number, end: number): NumberArray }

/** Whether a type's elements can stay in a typed array from the request to the model (their values are JSON's). */
export function typedView(type: OrtType): boolean {
  return type !== 'string' && ELEMENTS[type].array !== undefined
}

function readElements(input: RequestInput, info: TensorInfo, size: number, part: Buffer, element: FixedElement) {
  if (part.length !== size * element.bytes) {
    throw invalidRequest(
      `/inputs/${input.index}/parameters/binary_data_size`,
      `input "${input.name}": binary_data_size is ${part.length} bytes; shape [${input.shape.join(', ')}] of ${input.datatype} needs ${size * element.bytes}`,
    )
  }
  const out: ArrayLike<unknown> = element.array ? element.array(alignedCopy(part)) : readEach(part, element, size)
  // NaN and infinities have no JSON form and no place in a model's input; integers read from bytes are always in range
  if (info.type.startsWith('float')) {
    for (let i = 0; i < size; i++) {
      if (!Number.isFinite(out[i]))
        throw invalidRequest(
          `/inputs/${input.index}`,
          `input "${input.name}": element ${i} must be a number (${input.datatype})`,
          {
            element: i,
          },
        )
    }
  }
  return out
}

/** One TensorLike row per instance: views on the tensor's one typed array, no copy. */
export function typedRowsOf(values: NumberArray, inner: number[], rows: number): TensorLike[] {
  const stride = inner.reduce((a, b) => a * b, 1)
  if (rows === 1) return [{ data: values, dims: inner }]
  return Array.from({ length: rows }, (_, r) => ({ data: values.subarray(r * stride, (r + 1) * stride), dims: inner }))
}

function readEach(part: Buffer, element: FixedElement, size: number): unknown[] {
  const view = new DataView(part.buffer, part.byteOffset, part.length)
  const out = new Array<unknown>(size)
  for (let i = 0; i < size; i++) out[i] = element.read(view, i * element.bytes)
  return out
}

// a plain loop: Array.from on a typed array took ~13 µs for 256 floats, this ~1 µs (measured)
function toArray(typed: ArrayLike<number>): number[] {
  const out = new Array<number>(typed.length)
  for (let i = 0; i < typed.length; i++) out[i] = typed[i]
  return out
}

/** The bytes at an offset a typed array of any element size can view (a Buffer slice may start anywhere). */
function alignedCopy(part: Buffer): ArrayBuffer {
  const copy = new Uint8Array(part.length)
  copy.set(part)
  return copy.buffer
}
