import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { CLI, ROOT, fixture } from '../helpers/paths.js'
import { get, post } from '../helpers/server.js'

const JOBS = 24
const JOB_CONCURRENCY = 2

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function startCli(dataDir: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', fixture('handlers/waits-for-gate.ts'), '--port', String(port)], {
    cwd: ROOT,
    env: {
      ...process.env,
      CARAFE_DATA_DIR: dataDir,
      CARAFE_JOB_CONCURRENCY: String(JOB_CONCURRENCY),
      CARAFE_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  for (let i = 0; i < 600; i++) {
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    )
    if (ready) return child
    if (child.exitCode !== null) throw new Error(`carafe exited with ${child.exitCode}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  child.kill('SIGKILL')
  throw new Error('carafe did not become ready')
}

const killed = (child: ChildProcess) =>
  new Promise((resolve) => {
    child.once('exit', resolve)
    child.kill('SIGKILL')
  })

test('kill -9 with jobs queued and running: after a restart every accepted job succeeds exactly once', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'carafe-kill-'))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  let child = await startCli(dataDir, port)
  t.after(async () => {
    if (child.exitCode === null) await killed(child)
    await rm(dataDir, { recursive: true, force: true })
  })

  // The jobs wait on a gate file that opens only after the kill: however busy the machine, at the kill exactly
  // JOB_CONCURRENCY jobs are running (one of them inside the handler) and the rest are queued.
  const gate = join(dataDir, 'gate')
  await mkdir(gate)
  const ids: string[] = []
  for (let i = 0; i < JOBS; i++) {
    const { status, body } = await post(`${url}/v1/models/gated/jobs`, { instances: [{ gate, tag: `job-${i}` }] })
    assert.equal(status, 202)
    ids.push(body.id)
  }
  let before: string[] = []
  for (let i = 0; i < 1500; i++) {
    const started = (await readdir(gate)).filter((name) => name.startsWith('started-'))
    before = await Promise.all(ids.map(async (id) => (await get(`${url}/v1/jobs/${id}`)).body.status))
    if (started.length > 0 && before.filter((s) => s === 'running').length === JOB_CONCURRENCY) break
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  assert.deepEqual(
    [...before].sort(),
    [...Array(JOB_CONCURRENCY).fill('running'), ...Array(JOBS - JOB_CONCURRENCY).fill('queued')].sort(),
    `want ${JOB_CONCURRENCY} running and the rest queued at the kill, got ${before}`,
  )
  await killed(child)

  await writeFile(join(gate, 'open'), '')
  child = await startCli(dataDir, port)
  const results: string[] = []
  for (const id of ids) {
    let job: any
    for (let i = 0; i < 3000; i++) {
      job = (await get(`${url}/v1/jobs/${id}`)).body
      if (job.status !== 'queued' && job.status !== 'running') break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.equal(job.status, 'succeeded', `job ${id}: ${JSON.stringify(job)}`)
    assert.equal(job.result.predictions.length, 1)
    results.push(job.result.predictions[0].tag)
  }
  assert.deepEqual(
    results,
    ids.map((_, i) => `job-${i}`),
  )
  assert.equal(new Set(results).size, JOBS)
})
