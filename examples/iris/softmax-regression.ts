/** Per-feature mean and standard deviation, fitted on the training rows only. */
export interface Standardizer {
  mean: number[]
  std: number[]
}

export function fitStandardizer(rows: readonly number[][]): Standardizer {
  const d = rows[0].length
  const mean = Array.from({ length: d }, (_, j) => rows.reduce((s, r) => s + r[j], 0) / rows.length)
  const std = mean.map((m, j) => Math.sqrt(rows.reduce((s, r) => s + (r[j] - m) ** 2, 0) / rows.length) || 1) // `|| 1`: a constant feature must not divide by zero
  return { mean, std }
}

export function standardize({ mean, std }: Standardizer, row: readonly number[]): number[] {
  return row.map((v, j) => (v - mean[j]) / std[j])
}

export interface SoftmaxRegression {
  /** d×k, row-major, so it is the MatMul initializer as is. */
  weights: Float32Array
  bias: Float32Array
}

export interface FitOptions {
  classes: number
  steps: number
  learningRate: number
  l2: number
  random: () => number
}

/** Multinomial logistic regression by full-batch gradient descent on the mean cross-entropy. */
export function fitSoftmaxRegression(
  x: readonly number[][],
  y: readonly number[],
  opts: FitOptions,
): SoftmaxRegression {
  const n = x.length
  const d = x[0].length
  const k = opts.classes
  const w = new Float64Array(d * k).map(() => (opts.random() - 0.5) * 0.02) // small symmetric-breaking start
  const b = new Float64Array(k)
  const gw = new Float64Array(d * k)
  const gb = new Float64Array(k)
  const p = new Float64Array(k)
  for (let step = 0; step < opts.steps; step++) {
    gw.fill(0)
    gb.fill(0)
    for (let i = 0; i < n; i++) {
      softmaxRow(x[i], w, b, p)
      p[y[i]] -= 1 // ∂loss/∂logits = p − onehot(y)
      for (let c = 0; c < k; c++) {
        gb[c] += p[c]
        for (let j = 0; j < d; j++) gw[j * k + c] += x[i][j] * p[c]
      }
    }
    for (let c = 0; c < k; c++) b[c] -= (opts.learningRate * gb[c]) / n
    for (let t = 0; t < d * k; t++) w[t] -= opts.learningRate * (gw[t] / n + opts.l2 * w[t])
  }
  return { weights: Float32Array.from(w), bias: Float32Array.from(b) }
}

function softmaxRow(row: readonly number[], w: Float64Array, b: Float64Array, out: Float64Array): void {
  const k = b.length
  let max = -Infinity
  for (let c = 0; c < k; c++) {
    let z = b[c]
    for (let j = 0; j < row.length; j++) z += row[j] * w[j * k + c]
    out[c] = z
    if (z > max) max = z
  }
  let sum = 0
  for (let c = 0; c < k; c++) sum += out[c] = Math.exp(out[c] - max) // minus max: exp() never overflows, whatever the logits
  for (let c = 0; c < k; c++) out[c] /= sum
}
