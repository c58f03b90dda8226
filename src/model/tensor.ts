/** A flat typed array with its dimensions: what pre-processing hands the ONNX predictor instead of nested arrays. */
export interface TensorLike {
  data: ArrayLike<number>
  dims: number[]
}

export function isTensorLike(value: unknown): value is TensorLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    ArrayBuffer.isView((value as TensorLike).data) &&
    Array.isArray((value as TensorLike).dims)
  )
}

/** Shape of a rectangular nested array (or a TensorLike), or the JSON pointer of the first place it is ragged. */
export function shapeOf(value: unknown): { shape: number[] } | { raggedAt: string } {
  if (isTensorLike(value)) return { shape: value.dims }
  const shape: number[] = []
  let probe = value
  while (Array.isArray(probe)) {
    shape.push(probe.length)
    probe = probe[0]
  }
  const ragged = findRagged(value, shape, 0, '')
  return ragged === undefined ? { shape } : { raggedAt: ragged }
}

function findRagged(value: unknown, shape: number[], depth: number, path: string): string | undefined {
  if (depth === shape.length) return Array.isArray(value) ? path : undefined
  if (!Array.isArray(value) || value.length !== shape[depth]) return path
  for (let i = 0; i < value.length; i++) {
    const found = findRagged(value[i], shape, depth + 1, `${path}/${i}`)
    if (found !== undefined) return found
  }
  return undefined
}

/** Flatten a rectangular nested array into `target` starting at `offset`; returns the next offset. */
export function flattenInto(
  value: unknown,
  target: { [index: number]: unknown },
  offset: number,
  convert: (x: unknown) => unknown,
): number {
  if (isTensorLike(value)) {
    for (let i = 0; i < value.data.length; i++) target[offset + i] = convert(value.data[i])
    return offset + value.data.length
  }
  if (!Array.isArray(value)) {
    target[offset] = convert(value)
    return offset + 1
  }
  for (const inner of value) offset = flattenInto(inner, target, offset, convert)
  return offset
}

/** Rebuild a nested array of the given shape from a flat array-like, starting at `offset`. */
export function unflatten(
  data: ArrayLike<unknown>,
  shape: readonly number[],
  offset = 0,
  convert: (x: unknown) => unknown = (x) => x,
): unknown {
  if (shape.length === 0) return convert(data[offset])
  const [first, ...rest] = shape
  const stride = rest.reduce((a, b) => a * b, 1)
  const out = new Array(first)
  for (let i = 0; i < first; i++) out[i] = unflatten(data, rest, offset + i * stride, convert)
  return out
}
