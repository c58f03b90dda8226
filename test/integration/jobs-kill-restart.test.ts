import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { CLI, ROOT, fixture } from '../helpers/paths.js'
import { get, post } from '../helpers/server.js'

const JOBS = 24

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function startCli(dataDir: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', fixture('handlers/slow-progress.ts'), '--port', String(port)], {
    cwd: ROOT,
    env: { ...process.env, CARAFE_DATA_DIR: dataDir, CARAFE_JOB_CONCURRENCY: '2', CARAFE_LOG_LEVEL: 'warn' },
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

  const ids: string[] = []
  for (let i = 0; i < JOBS; i++) {
    const { status, body } = await post(`${url}/v1/models/slow/jobs`, { instances: [{ ms: 300, tag: `job-${i}` }] })
    assert.equal(status, 202)
    ids.push(body.id)
  }
  for (let i = 0; i < 200; i++) {
    const { body } = await get(`${url}/v1/jobs/${ids[0]}`)
    if (body.status === 'running') break
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  const before = await Promise.all(ids.map(async (id) => (await get(`${url}/v1/jobs/${id}`)).body.status))
  assert.ok(
    before.includes('running') && before.includes('queued'),
    `want running and queued jobs at the kill, got ${before}`,
  )
  await killed(child)

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
