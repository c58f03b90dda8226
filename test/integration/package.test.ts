import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { writeOnnx } from '../../examples/onnx-writer.js'
import { ROOT } from '../helpers/paths.js'

// The package as a user gets it: `npm pack`, installed into an empty project, used through its bin, its exports and its
// types. Offline: the dependencies come from the npm cache that `npm ci` filled, pinned by this repository's lock file.

const run = promisify(execFile)
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')

interface LockEntry {
  dev?: boolean
  devOptional?: boolean
  [key: string]: unknown
}

/** A lock file for a project that depends only on the tarball: the tarball, and every non-dev entry of ours. */
function lockFor(tarball: string, pkg: Record<string, any>, ours: { packages: Record<string, LockEntry> }) {
  const packages: Record<string, unknown> = {
    '': { name: 'carafe-user', dependencies: { carafe: `file:${tarball}` } },
    'node_modules/carafe': {
      version: pkg.version,
      resolved: `file:${tarball}`,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  }
  for (const [path, entry] of Object.entries(ours.packages)) {
    if (path !== '' && !entry.dev && !entry.devOptional) packages[path] = entry
  }
  return { name: 'carafe-user', lockfileVersion: 3, requires: true, packages }
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

test('npm pack → npm ci in an empty project: bin, serve, exports and types work; no tests, bench or models inside', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'carafe-package-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'))

  // --ignore-scripts: prepack would empty and rebuild dist/src under the test files running beside this one; `npm test`
  // has just built it, and the package's own build (tsconfig.build.json) writes the same tree.
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT })
  const [info] = JSON.parse(packed.stdout) as { filename: string; size: number; files: { path: string }[] }[]
  const files = info!.files.map((f) => f.path)
  console.log(`package: ${info!.filename}, ${(info!.size / 1024).toFixed(1)} kB packed, ${files.length} files`)
  assert.deepEqual(
    files.filter((f) => /^(test|bench|examples|scripts|src)\/|^dist\/(?!src\/)|\.(onnx|map)$/.test(f)),
    [],
    'only the library, its bin and its docs are packed',
  )
  for (const needed of [
    'bin/carafe.js',
    'dist/src/index.js',
    'dist/src/index.d.ts',
    'dist/src/client/index.d.ts',
    'dist/src/ui/assets/playground.js',
    'README.md',
    'LICENSE',
    'CHANGELOG.md',
  ])
    assert.ok(files.includes(needed), `${needed} is in the package`)

  const project = join(dir, 'project')
  const tarball = `../${info!.filename}`
  const ours = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8'))
  await mkdir(project)
  await writeFile(
    join(project, 'package.json'),
    // our overrides too (npm applies a dependency's own overrides to nothing), so the lock's pins stand
    JSON.stringify({
      name: 'carafe-user',
      private: true,
      type: 'module',
      dependencies: { carafe: `file:${tarball}` },
      overrides: pkg.overrides,
    }),
  )
  await writeFile(join(project, 'package-lock.json'), JSON.stringify(lockFor(tarball, pkg, ours), null, 2))
  await writeFile(join(project, '.npmrc'), 'onnxruntime-node-install=skip\n') // else a CUDA download on Linux x64
  await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: project })

  const version = await run('npx', ['carafe', '--version'], { cwd: project })
  assert.equal(version.stdout.trim(), pkg.version)

  // A bare ONNX file: y = x + [10, 20]
  await writeFile(
    join(project, 'shift.onnx'),
    writeOnnx({
      name: 'shift',
      nodes: [{ op: 'Add', inputs: ['x', 'b'], outputs: ['y'] }],
      initializers: [{ name: 'b', dims: [2], values: [10, 20] }],
      inputs: [{ name: 'x', featureDims: [2] }],
      outputs: [{ name: 'y', featureDims: [2] }],
    }),
  )
  const port = await freePort()
  // the bin that npx runs, started by node itself, so the test holds the server's own PID
  const server = spawn(process.execPath, ['node_modules/.bin/carafe', 'serve', 'shift.onnx', '--port', String(port)], {
    cwd: project,
    stdio: 'ignore',
  })
  t.after(() => {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL')
  })
  let ready = false
  for (let i = 0; i < 600 && !ready && server.exitCode === null; i++) {
    ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    )
    if (!ready) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  assert.ok(ready, `the installed carafe serve became ready (exit ${server.exitCode})`)
  const answer = await fetch(`http://127.0.0.1:${port}/v1/models/shift:predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"instances":[[1,2]]}',
  })
  assert.equal(answer.status, 200)
  assert.deepEqual(await answer.json(), { predictions: [[11, 22]] })
  server.kill('SIGTERM')

  // The types a user compiles against, both entry points; the @ts-expect-error lines prove they are types, not `any`
  await writeFile(
    join(project, 'use.ts'),
    `import { defineModel } from 'carafe'
import { createClient } from 'carafe/client'

export default defineModel({
  name: 'double',
  input: { type: 'object', properties: { x: { type: 'number' } }, required: ['x'] },
  output: { type: 'object', properties: { y: { type: 'number' } } },
  async predict(inputs: { x: number }[]) {
    return inputs.map(({ x }) => ({ y: 2 * x }))
  },
})
export const client = createClient({ baseUrl: 'http://127.0.0.1:8080' })
// @ts-expect-error baseUrl is a string
createClient({ baseUrl: 8080 })
// @ts-expect-error a definition has a predict function
defineModel({ name: 'x', input: {}, output: {}, predict: 42 })
`,
  )
  await writeFile(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        target: 'es2022',
        strict: true,
        noEmit: true,
        skipLibCheck: true, // as most projects do; checking every dependency's .d.ts takes a minute
        typeRoots: [join(ROOT, 'node_modules', '@types')],
        types: ['node'],
      },
      files: ['use.ts'],
    }),
  )
  await run(process.execPath, [TSC, '-p', project]).catch((error) => {
    assert.fail(`tsc --noEmit against the installed package failed:\n${error.stdout}${error.stderr}`)
  })
})

test('the first npx carafe in this clone runs the built CLI and does not rebuild dist/', async (t) => {
  const built = join(ROOT, 'dist', 'src', 'cli', 'index.js')
  const before = (await stat(built)).mtimeMs
  // npx links this folder into its cache and runs its prepare script the first time: an empty cache makes this the
  // first time, and prepare must not build from npx
  const cache = await mkdtemp(join(tmpdir(), 'carafe-npx-cache-'))
  t.after(() => rm(cache, { recursive: true, force: true }))
  const { stdout } = await run('npx', ['--yes', 'carafe', '--version'], {
    cwd: ROOT,
    env: { ...process.env, npm_config_cache: cache },
  })
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'))
  assert.equal(stdout.trim(), pkg.version)
  assert.equal((await stat(built)).mtimeMs, before, 'dist/ was not rewritten')
})
