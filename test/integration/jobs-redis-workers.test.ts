import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { test } from 'node:test'
import { RedisJobStore, type JobRecord } from '../../src/jobs/index.js'
import { CLI, ROOT, fixture } from '../helpers/paths.js'
import { loudSkipReason, redisDown, removeKeys } from '../helpers/redis.js'

/** `carafe worker` in its own process; resolves once it logged "worker ready". */
async function startWorker(url: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [CLI, 'worker', fixture('handlers/slow-progress.ts'), '--jobs', url, '--concurrency', '1'],
    {
      cwd: ROOT,
      env: { ...process.env, CARAFE_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  let out = ''
  child.stdout!.on('data', (chunk) => {
    out += chunk
  })
  for (let i = 0; i < 600 && !out.includes('worker ready'); i++) {
    if (child.exitCode !== null) throw new Error(`carafe worker exited with ${child.exitCode}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  if (!out.includes('worker ready')) {
    child.kill('SIGKILL')
    throw new Error('carafe worker did not become ready')
  }
  return child
}

test('two workers, one killed with SIGKILL mid-job: every job still succeeds', async (t) => {
  const down = await redisDown()
  if (down) {
    t.skip(loudSkipReason('the carafe worker kill test', down))
    return
  }
  const prefix = `carafe-test:${randomUUID()}`
  // short locks so the killed worker's job is taken back quickly
  const url = `redis://127.0.0.1:6379/0?prefix=${encodeURIComponent(prefix)}&lockDuration=1000&stalledInterval=500`
  const children: ChildProcess[] = []
  t.after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await removeKeys(prefix)
  })
  const store = await RedisJobStore.open({ url, concurrency: 1, retentionMs: 600_000 })
  t.after(() => store.close())
  const [a, b] = await Promise.all([startWorker(url), startWorker(url)])
  children.push(a, b)

  const submitted: JobRecord[] = []
  for (let i = 0; i < 6; i++)
    submitted.push(await store.submit({ model: 'slow', instances: [{ ms: 1500, tag: String(i) }] }))
  // both workers take one job each (concurrency 1); wait until two run, then kill one of them
  for (let i = 0; i < 600; i++) {
    const states = await Promise.all(submitted.map((job) => store.get(job.id)))
    if (states.filter((job) => job?.status === 'running').length >= 2) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const exited = once(a, 'exit')
  a.kill('SIGKILL')
  await exited

  const final: JobRecord[] = []
  for (const job of submitted) {
    let current = await store.get(job.id)
    for (let i = 0; i < 1200 && current?.status !== 'succeeded' && current?.status !== 'failed'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      current = await store.get(job.id)
    }
    final.push(current!)
  }
  assert.deepEqual(
    final.map((job) => job.status),
    submitted.map(() => 'succeeded'),
  )
  assert.deepEqual(
    final.map((job) => (job.result as { tag: string }[])[0]!.tag),
    submitted.map((_, i) => String(i)),
  )
  // the killed worker's job ran again on the survivor
  assert.ok(
    final.some((job) => job.attempts >= 2),
    `attempts: ${final.map((job) => job.attempts)}`,
  )
  assert.ok(final.every((job) => (job.result as { pid: number }[])[0]!.pid !== a.pid || job.attempts === 1))
})

test('a worker sent SIGTERM mid-job finishes that job, takes no other, and exits 0; the rest run elsewhere', async (t) => {
  const down = await redisDown()
  if (down) {
    t.skip(loudSkipReason('the carafe worker SIGTERM test', down))
    return
  }
  const prefix = `carafe-test:${randomUUID()}`
  const url = `redis://127.0.0.1:6379/0?prefix=${encodeURIComponent(prefix)}`
  const children: ChildProcess[] = []
  t.after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await removeKeys(prefix)
  })
  const store = await RedisJobStore.open({ url, concurrency: 1, retentionMs: 600_000 })
  t.after(() => store.close())
  const a = await startWorker(url)
  children.push(a)
  const submitted: JobRecord[] = []
  for (let i = 0; i < 3; i++)
    submitted.push(await store.submit({ model: 'slow', instances: [{ ms: 1500, tag: String(i) }] }))
  let running: JobRecord | undefined
  for (let i = 0; i < 600 && !running; i++) {
    running = (await Promise.all(submitted.map((job) => store.get(job.id)))).find((job) => job?.status === 'running')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  assert.ok(running, 'a job started')
  const exited = once(a, 'exit')
  a.kill('SIGTERM')
  assert.deepEqual(await exited, [0, null])
  const done = await store.get(running.id)
  assert.equal(done?.status, 'succeeded', 'the running job was finished, not put back')
  assert.equal(done?.attempts, 1)
  assert.equal((done!.result as { pid: number }[])[0]!.pid, a.pid)
  const others = submitted.filter((job) => job.id !== running.id)
  for (const job of others) assert.equal((await store.get(job.id))?.status, 'queued')

  children.push(await startWorker(url))
  for (const job of others) {
    let current = await store.get(job.id)
    for (let i = 0; i < 1200 && current?.status !== 'succeeded' && current?.status !== 'failed'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      current = await store.get(job.id)
    }
    assert.equal(current?.status, 'succeeded')
    assert.equal(current?.attempts, 1)
  }
})
