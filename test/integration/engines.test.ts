import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { copyFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { ROOT } from '../helpers/paths.js'

// `npm ci` on the Node this project supports says nothing about engines: a dependency (even a dev one, such as the
// Kubernetes manifest types) that asks for a newer Node prints EBADENGINE lines at every install. A dry run of the lock
// file checks every package's engines without installing anything.
test('npm ci of the lock file prints no EBADENGINE on this Node', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'carafe-engines-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  for (const file of ['package.json', 'package-lock.json', '.npmrc']) await copyFile(join(ROOT, file), join(dir, file))
  const { stdout, stderr } = await promisify(execFile)(
    'npm',
    ['ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund', '--offline'],
    { cwd: dir, timeout: 120_000 },
  )
  const lines = `${stdout}\n${stderr}`.split('\n').filter((line) => line.includes('EBADENGINE'))
  assert.deepEqual(lines, [], `${process.version}: ${lines.join('\n')}`)
})
