import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { pathToFileURL } from 'node:url'
import ts from 'typescript'
import { runCli } from '../helpers/cli.js'
import { example, ROOT } from '../helpers/paths.js'
import { startServer } from '../helpers/server.js'

// `carafe client` run for real, its output compiled by the project's TypeScript in a user's project (a temporary
// folder with carafe in node_modules, as `npm install carafe` leaves it), then run against a live server.

const KEY = 'codegen-test-key-0123456789abcdef'

// Type-checked and then run: everything a user would write against the generated module.
const GOOD_USAGE = `
import { CarafeApiError, createIrisClient, createTextDetectionClient, type IrisInstance, type IrisPrediction, type TextDetectionInstance } from './client.js'

export async function useIris(baseUrl: string, apiKey: string) {
  const iris = createIrisClient(baseUrl, { apiKey, pollMs: 20 })
  const instances: IrisInstance[] = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
  const predictions: IrisPrediction[] = await iris.predict(instances)
  const labels: ('setosa' | 'versicolor' | 'virginica')[] = predictions.map((p) => p.label)
  const virginica: number = predictions[1].probabilities.virginica
  const submitted = await iris.submitJob([instances[1]])
  const progress: number[] = []
  const done = await iris.waitForJob(submitted.id, { onProgress: (fraction) => progress.push(fraction) })
  const jobLabel: string | undefined = done.result?.predictions[0].label
  let wrongLength = ''
  try {
    await iris.predict([[1, 2, 3]]) // compiles (the length is in the JSDoc), the server refuses it
  } catch (error) {
    if (error instanceof CarafeApiError) wrongLength = error.code
  }
  let withoutKey = ''
  try {
    await createIrisClient(baseUrl).predict(instances)
  } catch (error) {
    if (error instanceof CarafeApiError) withoutKey = error.code
  }
  return { labels, virginica, jobStatus: done.status, jobLabel, lastProgress: progress.at(-1), wrongLength, withoutKey }
}

export async function useTextDetection(baseUrl: string): Promise<number[][]> {
  const detector = createTextDetectionClient(baseUrl)
  const input: TextDetectionInstance = { image: { b64: 'iVBORw0KGgo=' }, scoreThreshold: 0.5, maxResults: 10 }
  const [found] = await detector.predict([input, { image: 'data:image/png;base64,iVBORw0KGgo=' }])
  const width: number = found.width
  return found.boxes.map((b) => [...b.box, b.score, width])
}
`

// Each must fail to compile with exactly this TypeScript error, on the marked line.
const BAD_USAGES: { name: string; code: number; source: string }[] = [
  { name: 'string-for-number', code: 2322, source: `iris.predict([[5.1, '3.5', 1.4, 0.2]])` },
  { name: 'missing-field', code: 2339, source: `iris.predict([[5.1, 3.5, 1.4, 0.2]]).then(([p]) => p.confidence)` },
  {
    name: 'unknown-label',
    code: 2367,
    source: `iris.predict([[5.1, 3.5, 1.4, 0.2]]).then(([p]) => p.label === 'rose')`,
  },
  {
    name: 'unknown-class-probability',
    code: 2339,
    source: `iris.predict([[5.1, 3.5, 1.4, 0.2]]).then(([p]) => p.probabilities.rose)`,
  },
  { name: 'image-as-number', code: 2322, source: `detector.predict([{ image: 42 }])` },
  { name: 'image-missing', code: 2741, source: `detector.predict([{ maxResults: 3 }])` },
  {
    name: 'job-result-field',
    code: 2339,
    source: `iris.waitForJob('id').then((job) => job.result?.predictions[0].score)`,
  },
]

let project: string

before(async () => {
  project = await mkdtemp(join(tmpdir(), 'carafe-client-'))
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'user-project', private: true, type: 'module' }),
  )
  await mkdir(join(project, 'node_modules'))
  await symlink(ROOT, join(project, 'node_modules', 'carafe'), 'dir')
})
after(() => rm(project, { recursive: true, force: true }))

test('carafe client writes a module that type-checks strict, refuses wrong usage, and predicts against a live server', async (t) => {
  // the server warms up while the CLI and the compiler work; its failure still surfaces at the await below
  const serverReady = startServer(example('iris'), { t, config: { apiKeys: [KEY] } })
  serverReady.catch(() => undefined)
  const out = join(project, 'client.ts')
  const cli = await runCli(['client', example('iris'), example('text-detection'), '--out', out])
  assert.equal(cli.code, 0, cli.stderr)
  assert.equal(cli.stdout, `wrote ${out}: createIrisClient, createTextDetectionClient\n`)
  const source = await readFile(out, 'utf8')
  assert.match(source, /export type IrisInstance = number\[\]/)
  assert.match(source, /image: string \| \{ b64: string \}/)

  await writeFile(join(project, 'usage.ts'), GOOD_USAGE)
  for (const bad of BAD_USAGES) {
    await writeFile(
      join(project, `bad-${bad.name}.ts`),
      [
        `import { createIrisClient, createTextDetectionClient } from './client.js'`,
        `const iris = createIrisClient('http://127.0.0.1:1')`,
        `const detector = createTextDetectionClient('http://127.0.0.1:1')`,
        `export const attempt = () => ${bad.source}`,
        `export { iris, detector }`,
      ].join('\n'),
    )
  }
  // One strict program over the generated module, the good usage and every bad one; errors are grouped by file.
  const program = ts.createProgram({
    rootNames: ['client.ts', 'usage.ts', ...BAD_USAGES.map((bad) => `bad-${bad.name}.ts`)].map((file) =>
      join(project, file),
    ),
    options: {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      types: [],
      skipLibCheck: false,
    },
  })
  const byFile = new Map<string, { code: number; line: number; text: string }[]>()
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const file = d.file ? d.file.fileName.slice(project.length + 1) : '(global)'
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0
    byFile.set(file, [
      ...(byFile.get(file) ?? []),
      { code: d.code, line, text: ts.flattenDiagnosticMessageText(d.messageText, ' ') },
    ])
  }
  const summary = JSON.stringify(Object.fromEntries(byFile), null, 1)
  assert.equal(byFile.get('(global)'), undefined, summary)
  assert.equal(byFile.get('client.ts'), undefined, summary)
  assert.equal(byFile.get('usage.ts'), undefined, summary)
  for (const bad of BAD_USAGES) {
    const errors = byFile.get(`bad-${bad.name}.ts`) ?? []
    assert.deepEqual(
      errors.map(({ code, line }) => ({ code, line })),
      [{ code: bad.code, line: 4 }],
      `${bad.name}: ${summary}`,
    )
  }
  assert.equal(byFile.size, BAD_USAGES.length, summary)

  // Run the very code that was type-checked: transpiled as a user's build would, importing carafe/client from node_modules.
  for (const file of ['client', 'usage']) {
    const { outputText } = ts.transpileModule(await readFile(join(project, `${file}.ts`), 'utf8'), {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022 },
    })
    await writeFile(join(project, `${file}.js`), outputText)
  }
  const server = await serverReady
  const usage = await import(pathToFileURL(join(project, 'usage.js')).href)
  const result = await usage.useIris(server.url, KEY)
  assert.deepEqual(result.labels, ['setosa', 'virginica'])
  assert.ok(result.virginica > 0.5 && result.virginica <= 1, String(result.virginica))
  assert.equal(result.jobStatus, 'succeeded')
  assert.equal(result.jobLabel, 'virginica')
  assert.equal(result.lastProgress, 1)
  assert.equal(result.wrongLength, 'INVALID_INPUT')
  assert.equal(result.withoutKey, 'UNAUTHORIZED')
})

test('carafe client on a path it cannot load: exit 2, one line naming it, no file written', async () => {
  const out = join(project, 'never.ts')
  const { code, stdout, stderr } = await runCli(['client', join(project, 'nope', 'model.onnx'), '--out', out])
  assert.equal(code, 2, stderr)
  assert.equal(stdout, '')
  assert.equal(stderr.trim().split('\n').length, 1, stderr)
  assert.match(stderr, /^carafe: .*nope\/model\.onnx: file not found\n$/)
  assert.equal(existsSync(out), false)
})

test('carafe client without --out prints the module', async () => {
  const { code, stdout, stderr } = await runCli(['client', example('iris')])
  assert.equal(code, 0, stderr)
  assert.match(stdout, /^\/\/ Generated by `carafe client`/)
  assert.match(stdout, /export function createIrisClient\(/)
})
