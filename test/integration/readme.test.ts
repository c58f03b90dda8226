import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { it } from 'node:test'
import { ROOT } from '../helpers/paths.js'

// The README's first command serves iris; its curl answers setosa then virginica with probabilities summing to 1.
it('README: npm start serves iris and the documented request answers setosa, virginica', async (t) => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
  assert.match(readme, /npm ci && npm start/)
  assert.match(readme, /npm test/)
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'))
  assert.equal(pkg.scripts.start, 'node bin/carafe.js serve examples/iris')
  const ci = await readFile(join(ROOT, '.ci', 'run'), 'utf8')
  assert.match(ci, /\nnpm ci .*\nnpm test\n/, '.ci/run runs the README commands')

  const port = await freePort()
  const dataDir = await mkdtemp(join(tmpdir(), 'carafe-readme-'))
  t.after(() => rm(dataDir, { recursive: true, force: true }))
  // `npm start` with the port moved off 8080 by the environment, so the test never collides with a running server
  const child = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    // its own data dir too: another server on the checkout's .carafe (a developer's `npm start`) holds the job lock
    env: { ...process.env, CARAFE_PORT: String(port), CARAFE_DATA_DIR: dataDir },
    stdio: 'ignore',
    detached: true,
  })
  t.after(() => {
    try {
      process.kill(-child.pid!, 'SIGTERM')
    } catch {
      /* already gone */
    }
  })
  const base = `http://127.0.0.1:${port}`
  for (let i = 0; i < 300; i++) {
    const ready = await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    )
    if (ready) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const response = await fetch(`${base}/v1/models/iris:predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"instances":[[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3]]}',
  })
  assert.equal(response.status, 200)
  const { predictions } = (await response.json()) as {
    predictions: { label: string; probabilities: Record<string, number> }[]
  }
  assert.deepEqual(
    predictions.map((p) => p.label),
    ['setosa', 'virginica'],
  )
  for (const p of predictions) assert.ok(Math.abs(Object.values(p.probabilities).reduce((a, b) => a + b, 0) - 1) < 1e-5)
})

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
      .listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number }
        server.close(() => resolve(port))
      })
      .on('error', reject)
  })
}
