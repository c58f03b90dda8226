import ort from 'onnxruntime-node'

const SUM_TOLERANCE = 1e-4 // float32 softmax over ≤10 classes lands within ~1e-6 of 1; leave headroom

/**
 * Runs `rows` float32 rows through the model's `input` and returns `probabilities` as arrays,
 * throwing unless every row sums to 1.
 */
export async function runProbabilities(onnxBytes: Uint8Array, data: Float32Array, rows: number): Promise<number[][]> {
  const session = await ort.InferenceSession.create(onnxBytes)
  try {
    const input = new ort.Tensor('float32', data, [rows, data.length / rows])
    const { probabilities } = await session.run({ input })
    const width = probabilities.dims[1]
    const flat = probabilities.data as Float32Array
    const out: number[][] = []
    for (let r = 0; r < rows; r++) out.push(Array.from(flat.subarray(r * width, (r + 1) * width)))
    out.forEach((row, r) => {
      const sum = row.reduce((a, b) => a + b, 0)
      if (Math.abs(sum - 1) > SUM_TOLERANCE) throw new Error(`row ${r} of probabilities sums to ${sum}, not 1`)
    })
    return out
  } finally {
    await session.release()
  }
}

export function argmax(row: readonly number[]): number {
  let best = 0
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i
  return best
}
