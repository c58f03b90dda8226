import { runProbabilities } from '../onnx-check.js'
import { writeOnnx, type Initializer, type Node } from '../onnx-writer.js'
import { isMain, projectRoot, writeProjectFile } from '../paths.js'
import { mulberry32 } from '../prng.js'

/** Where the model goes, relative to the project root (the folder with package.json). */
export const MLP_MODEL_PATH = 'examples/mlp/1/model.onnx'

const SEED = 1234
// 256 inputs (a 16×16 image), two 1024-wide hidden layers, 10 classes: ~1.3 M weights, about
// 170 MFLOP per batch of 64, heavy enough that batching shows up in benchmarks.
const LAYERS = [256, 1024, 1024, 10]
const VERIFY_BATCH = 64

/** A dense ReLU network with fixed pseudo-random weights, as ONNX bytes (no training: it is a load-test model). */
export function buildMlp(): Uint8Array {
  const random = mulberry32(SEED)
  const nodes: Node[] = []
  const initializers: Initializer[] = []
  let x = 'input'
  for (let l = 0; l < LAYERS.length - 1; l++) {
    const [fanIn, fanOut] = [LAYERS[l], LAYERS[l + 1]]
    const last = l === LAYERS.length - 2
    // He-uniform keeps activations at unit scale through ReLUs; the output layer uses LeCun
    // scaling (no ×2) so logits stay O(1) and the softmax is spread out, not one-hot.
    const limit = Math.sqrt((last ? 3 : 6) / fanIn)
    initializers.push(
      { name: `W${l}`, dims: [fanIn, fanOut], values: uniform(fanIn * fanOut, limit, random) },
      { name: `b${l}`, dims: [fanOut], values: uniform(fanOut, 0.01, random) },
    )
    const y = last ? 'logits' : `h${l}`
    nodes.push({ op: 'Gemm', inputs: [x, `W${l}`, `b${l}`], outputs: [last ? y : `${y}_pre`] })
    if (!last) nodes.push({ op: 'Relu', inputs: [`${y}_pre`], outputs: [y] })
    x = y
  }
  nodes.push({ op: 'Softmax', inputs: ['logits'], outputs: ['probabilities'], attributes: { axis: -1 } })
  return writeOnnx({
    name: 'mlp',
    docString: 'Dense 256→1024→1024→10 ReLU network with fixed random weights, for load tests and batching benchmarks.',
    inputs: [{ name: 'input', featureDims: [LAYERS[0]] }],
    outputs: [{ name: 'probabilities', featureDims: [LAYERS[LAYERS.length - 1]] }],
    initializers,
    nodes,
  })
}

/** Runs a batch of 64 pseudo-random inputs in [0, 1) through onnxruntime; throws unless rows sum to 1. */
export async function verifyMlp(onnx: Uint8Array): Promise<number[][]> {
  const random = mulberry32(SEED + 1)
  const data = Float32Array.from({ length: VERIFY_BATCH * LAYERS[0] }, random)
  return runProbabilities(onnx, data, VERIFY_BATCH)
}

function uniform(count: number, limit: number, random: () => number): Float32Array {
  const out = new Float32Array(count)
  for (let i = 0; i < count; i++) out[i] = (random() * 2 - 1) * limit
  return out
}

if (isMain(import.meta.url)) {
  const started = performance.now()
  const onnx = buildMlp()
  const probs = await verifyMlp(onnx)
  writeProjectFile(projectRoot(import.meta.url), MLP_MODEL_PATH, onnx)
  const topMean = probs.reduce((s, row) => s + Math.max(...row), 0) / probs.length
  console.log(
    `mlp: batch of ${probs.length} ok (mean top probability ${topMean.toFixed(2)}), ${(onnx.length / 1e6).toFixed(1)} MB → ${MLP_MODEL_PATH} (${Math.round(performance.now() - started)} ms)`,
  )
}
