import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { it } from 'node:test'
import { runCli } from '../helpers/cli.js'
import { modelDir } from '../helpers/model-dir.js'
import { example, fixture } from '../helpers/paths.js'

// `carafe serve` on something it cannot serve: exit status 2 and one line naming the file and the problem.
async function expectRefusal(path: string, problem: RegExp) {
  const { code, stderr } = await runCli(['serve', path, '--port', '0'])
  assert.equal(code, 2, stderr)
  const lines = stderr.trim().split('\n')
  assert.equal(lines.length, 1, stderr)
  assert.ok(lines[0].includes(path), `names the file: ${lines[0]}`)
  assert.match(lines[0], problem)
}

it('a missing file', async () => {
  await expectRefusal('/nonexistent/model.onnx', /file not found/)
})

it('a corrupt ONNX file', async (t) => {
  const dir = await modelDir({ 'model.onnx': randomBytes(2048) }, t)
  await expectRefusal(join(dir, 'model.onnx'), /not a valid ONNX file/)
})

it('a file that is not ONNX at all', async (t) => {
  const dir = await modelDir({ 'model.onnx': 'name,age\nada,36\n', 'notes.txt': 'hello' }, t)
  await expectRefusal(join(dir, 'model.onnx'), /not a valid ONNX file/)
  await expectRefusal(join(dir, 'notes.txt'), /unsupported file type/)
})

it('a handler module without a default export', async () => {
  await expectRefusal(fixture('handlers/no-default.ts'), /export default/)
})

it('a handler module whose definition is invalid', async (t) => {
  const dir = await modelDir(
    {
      'no-predict.mjs': 'export default { name: "x", input: { type: "number" } }\n',
      'bad-name.mjs': 'export default { name: "no spaces allowed", input: {}, predict: (x) => x }\n',
      'throws.mjs': 'throw new Error("cannot import this")\n',
    },
    t,
  )
  await expectRefusal(join(dir, 'no-predict.mjs'), /predict/)
  await expectRefusal(join(dir, 'bad-name.mjs'), /name must be/)
  await expectRefusal(join(dir, 'throws.mjs'), /cannot import/)
})

it('a model directory with a bad carafe.yaml', async (t) => {
  const unknownKey = await modelDir({ 'carafe.yaml': 'name: x\ncolour: blue\n' }, t)
  await expectRefusal(unknownKey, /colour is not a known key/)
  const badYaml = await modelDir({ 'carafe.yaml': 'name: [unclosed\n' }, t)
  await expectRefusal(badYaml, /not valid YAML/)
  const noModel = await modelDir({ 'carafe.yaml': 'name: empty\n', '1/readme.txt': 'no model' }, t)
  await expectRefusal(noModel, /no model file/)
})

it('a model directory whose image pre-processing cannot feed its ONNX model', async (t) => {
  const iris = await readFile(join(example('iris'), '1', 'model.onnx'))
  const notAnImageModel = await modelDir(
    { 'carafe.yaml': 'preprocess:\n  image: { resize: { width: 4, height: 4 } }\n', '1/model.onnx': iris },
    t,
  )
  await expectRefusal(
    notAnImageModel,
    /preprocess\.image: input "[^"]+" takes \[4\] per image, the pre-processing makes \[3, 4, 4\]/,
  )
  const badKernel = await modelDir(
    { 'carafe.yaml': 'preprocess:\n  image: { resize: { maxSide: 64, kernel: sinc } }\n', '1/model.onnx': iris },
    t,
  )
  await expectRefusal(
    badKernel,
    /preprocess\.image\.resize\.kernel is not one of the allowed values \(allowed: "nearest", "linear", "cubic", "lanczos3"\)/,
  )
})
