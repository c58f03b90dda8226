// Builds the example models that are build outputs (git-ignored): examples/{iris,mlp}/1/model.onnx.
// Usage: npx tsx scripts/build-examples.ts [--force]   (or node dist/scripts/build-examples.js)
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { buildIris, IRIS_MODEL_PATH } from '../examples/iris/train.js'
import { buildMlp, MLP_MODEL_PATH, verifyMlp } from '../examples/mlp/build.js'
import { projectRoot, writeProjectFile } from '../examples/paths.js'

interface Build {
  name: string
  path: string
  run(): Promise<{ onnx: Uint8Array; note: string }>
}

const builds: Build[] = [
  {
    name: 'iris',
    path: IRIS_MODEL_PATH,
    async run() {
      const { onnx, accuracy } = await buildIris()
      return { onnx, note: `held-out accuracy ${accuracy.toFixed(3)}` }
    },
  },
  {
    name: 'mlp',
    path: MLP_MODEL_PATH,
    async run() {
      const onnx = buildMlp()
      await verifyMlp(onnx)
      return { onnx, note: 'batch of 64 verified' }
    },
  },
]

const args = process.argv.slice(2)
const unknown = args.filter((a) => a !== '--force')
if (unknown.length > 0) {
  console.error(
    `build-examples: unknown argument ${unknown.join(' ')}; the only option is --force (rebuild existing models)`,
  )
  process.exit(2)
}
const force = args.includes('--force')
const root = projectRoot(import.meta.url)

for (const b of builds) {
  if (!force && existsSync(join(root, b.path))) {
    console.log(`${b.name}: ${b.path} exists, kept (--force rebuilds it)`)
    continue
  }
  const started = performance.now()
  const { onnx, note } = await b.run()
  writeProjectFile(root, b.path, onnx)
  console.log(
    `${b.name}: wrote ${b.path} (${onnx.length} bytes, ${note}, ${Math.round(performance.now() - started)} ms)`,
  )
}
