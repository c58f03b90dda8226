// npm runs `prepare` after `npm install` / `npm ci` in a clone, and again whenever `npx carafe` links this folder into
// its cache. A full build takes about a minute and rewrites dist/ (under a running server, too), so build only when the
// build is missing or older than a source, and never from `npx`, which only needs to run what is built.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const OUTPUTS = ['dist/src/cli/index.js', 'dist/scripts/build-examples.js', 'examples/iris/1/model.onnx']
const SOURCES = ['src', 'test', 'bench', 'scripts', 'examples', 'package.json', 'tsconfig.json']

function newest(path) {
  const stat = statSync(path)
  if (!stat.isDirectory()) return /\.(ts|js|mjs|css|html|yaml|json)$/.test(path) ? stat.mtimeMs : 0
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))))
}

const missing = OUTPUTS.filter((path) => !existsSync(path))
const built = missing.length ? 0 : Math.min(...OUTPUTS.slice(0, 2).map((path) => statSync(path).mtimeMs))
const stale = missing.length > 0 || SOURCES.some((path) => existsSync(path) && newest(path) > built)

if (!stale) process.exit(0)
if (process.env.npm_command === 'exec') {
  console.error('carafe: the build is missing or older than the sources; run "npm run build" (npx does not build)')
  process.exit(0)
}
const { status } = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' })
process.exit(status ?? 1)
