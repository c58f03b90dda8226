// `npm test`'s runner: every test file under V8 coverage (child processes too: each `carafe serve` a test starts),
// then c8's report and its floor (.c8rc.json). Not `c8 node --test` itself: c8 12 stops its report on a
// source-map-cache key that is not a file URL, and tsx leaves a data: URL there when a test loads a TS handler.
import { spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const TEMP = 'dist/coverage/tmp' // the temp-directory in .c8rc.json
const C8 = 'node_modules/c8/bin/c8.js'

rmSync(TEMP, { recursive: true, force: true })
mkdirSync(TEMP, { recursive: true })
const tests = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...process.argv.slice(2), 'dist/test/'], {
  env: { ...process.env, NODE_V8_COVERAGE: TEMP },
  stdio: 'inherit',
})

for (const name of readdirSync(TEMP)) {
  const file = join(TEMP, name)
  const text = readFileSync(file, 'utf8')
  if (!text.includes('"data:')) continue // parse only the few files that may hold such a key
  const coverage = JSON.parse(text)
  const maps = coverage['source-map-cache'] ?? {}
  for (const url of Object.keys(maps)) if (!url.startsWith('file:')) delete maps[url]
  writeFileSync(file, JSON.stringify(coverage))
}

const report = spawnSync(process.execPath, [C8, 'report'], { stdio: 'inherit' })
rmSync(TEMP, { recursive: true, force: true }) // several hundred MB of raw V8 coverage
process.exit(tests.status || report.status || (tests.signal || report.signal ? 1 : 0))
