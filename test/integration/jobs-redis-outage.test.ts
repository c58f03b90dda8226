import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { test } from 'node:test'
import { CLI, fixture } from '../helpers/paths.js'
import { loudSkipServer, type PrivateRedis, privateRedis, redisServerMissing } from '../helpers/redis-server.js'

const MODEL = fixture('handlers/records-runs.ts')
const SECRET = 'outage-test-secret'
const CLIENT_GIVES_UP_MS = 5000 // a submit that hangs (the old behaviour: 5-12 s) fails the test, never blocks it
const JOBS = 4
const LOCK_MS = 2000 // shorter than the outage below, long enough that a busy machine does not stall a healthy run
const OUTAGE_MARK = 'Redis is unavailable'
const missing = redisServerMissing()

interface Serve {
  child: ChildProcess
  url: string
  logs: Record<string, unknown>[]
  stderr: () => string
  runs: () => string[]
}

/** `carafe serve` on its own Redis, with stdout (JSON logs) and stderr both kept; killed after the test. */
async function serve(
  t: { after(fn: () => unknown): void },
  redis: PrivateRedis,
  env: Record<string, string>,
): Promise<Serve> {
  const dir = mkdtempSync(join(tmpdir(), 'carafe-outage-'))
  const runsFile = join(dir, 'runs.txt')
  writeFileSync(runsFile, '')
  // a lock shorter than the outage: a job that finishes while Redis is down has lost its lock when Redis returns
  const jobs = `${redis.url}?prefix=${encodeURIComponent(`carafe-test:${randomUUID()}`)}&lockDuration=${LOCK_MS}&stalledInterval=${LOCK_MS / 2}`
  const child: ChildProcess = spawn(
    process.execPath,
    [CLI, 'serve', MODEL, '--port', '0', '--jobs', jobs, '--data-dir', dir],
    { env: { ...process.env, ...env, CARAFE_TEST_RUNS_FILE: runsFile }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') // our own child, by its handle
    rmSync(dir, { recursive: true, force: true })
  })
  let stderr = ''
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  const logs: Record<string, unknown>[] = []
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "ready" within 15 s; stderr: ${stderr}`)), 15_000)
    child.once('exit', (code) => reject(new Error(`carafe serve exited with ${code}; stderr: ${stderr}`)))
    createInterface({ input: child.stdout! }).on('line', (text) => {
      const line = JSON.parse(text) as Record<string, unknown>
      logs.push(line)
      if (line.msg === 'ready') {
        clearTimeout(timer)
        resolve(line.url as string)
      }
    })
  })
  return {
    child,
    url: await ready,
    logs,
    stderr: () => stderr,
    runs: () => readFileSync(runsFile, 'utf8').split('\n').filter(Boolean),
  }
}

/** A local webhook receiver that counts deliveries per job. */
async function webhookCounter(t: { after(fn: () => unknown): void }) {
  const deliveries = new Map<string, number>()
  const server = createServer((request, response) => {
    const id = String(request.headers['x-carafe-job-id'])
    deliveries.set(id, (deliveries.get(id) ?? 0) + 1)
    request.resume()
    request.on('end', () => response.end('ok'))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise((resolve) => server.close(resolve)))
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}/hook`, host: `127.0.0.1:${port}`, deliveries }
}

async function call(method: string, url: string, body?: unknown) {
  const started = Date.now()
  const response = await fetch(url, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(CLIENT_GIVES_UP_MS),
  }).catch((error: Error) => {
    throw new Error(`${method} ${new URL(url).pathname}: no answer within ${CLIENT_GIVES_UP_MS} ms (${error.message})`)
  })
  const text = await response.text()
  return {
    status: response.status,
    body: text ? JSON.parse(text) : undefined,
    retryAfter: response.headers.get('retry-after'),
    ms: Date.now() - started,
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const value = await check().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

const statusOf = (url: string, id: string) =>
  call('GET', `${url}/v1/jobs/${id}`).then((r) => (r.status === 200 ? (r.body.status as string) : undefined))

test('Redis stopped and started under job load: 503 JOBS_UNAVAILABLE while down, ready for sync, every job run and announced once', {
  skip: missing && loudSkipServer('the Redis outage tests', missing),
}, async (t) => {
  const redis = await privateRedis(t)
  await redis.start()
  const hooks = await webhookCounter(t)
  const server = await serve(t, redis, { CARAFE_WEBHOOK_SECRET: SECRET, CARAFE_WEBHOOK_HOSTS: hooks.host })
  const jobsUrl = `${server.url}/v1/models/records-runs/jobs`

  const ids: string[] = []
  for (let i = 0; i < JOBS; i++) {
    const created = await call('POST', jobsUrl, { instances: [{ tag: `job-${i}`, ms: 400 }], webhook: hooks.url })
    assert.equal(created.status, 202)
    ids.push(created.body.id)
  }
  // taken by the worker before the outage (the first may already be done)
  for (const id of ids)
    await until(`${id} taken`, async () =>
      ['running', 'succeeded'].includes((await statusOf(server.url, id)) ?? '') ? true : undefined,
    )

  await redis.stop()
  const submit = await call('POST', jobsUrl, { instances: [{ tag: 'refused-0' }], webhook: hooks.url })
  assert.equal(submit.status, 503, JSON.stringify(submit.body))
  assert.equal(submit.body.error.code, 'JOBS_UNAVAILABLE')
  assert.equal(submit.retryAfter, '1')
  const poll = await call('GET', `${server.url}/v1/jobs/${ids[0]}`)
  assert.equal(poll.status, 503)
  assert.equal(poll.body.error.code, 'JOBS_UNAVAILABLE')
  const cancel = await call('DELETE', `${server.url}/v1/jobs/${ids[1]}`)
  assert.equal(cancel.status, 503)
  assert.equal(cancel.body.error.code, 'JOBS_UNAVAILABLE')
  const ready = await call('GET', `${server.url}/readyz`)
  assert.equal(ready.status, 200, 'sync prediction does not need Redis: the replica stays ready')
  assert.equal(ready.body.details.jobs.available, false)
  assert.equal(ready.body.details.jobs.code, 'JOBS_UNAVAILABLE')
  const sync = await call('POST', `${server.url}/v1/models/records-runs:predict`, { instances: [{ tag: 'sync' }] })
  assert.equal(sync.status, 200)
  for (let i = 1; i < 4; i++) {
    const refused = await call('POST', jobsUrl, { instances: [{ tag: `refused-${i}` }], webhook: hooks.url })
    assert.equal(refused.status, 503)
  }
  t.diagnostic(`while down: submit ${submit.ms} ms, poll ${poll.ms} ms, cancel ${cancel.ms} ms`)
  // the jobs taken before the outage run while Redis is down (one runner: one after the other), and their 1 s locks run out
  await until('every job to run', async () =>
    ids.every((_, i) => server.runs().includes(`job-${i}`)) ? true : undefined,
  )
  await sleep(1500)

  await redis.start()
  for (const id of ids)
    await until(`${id} succeeded`, async () => ((await statusOf(server.url, id)) === 'succeeded' ? true : undefined))
  const after = await until('a submit after the outage', async () => {
    const created = await call('POST', jobsUrl, { instances: [{ tag: 'after' }], webhook: hooks.url })
    return created.status === 202 ? (created.body.id as string) : undefined
  })
  await until('the job after the outage', async () =>
    (await statusOf(server.url, after)) === 'succeeded' ? true : undefined,
  )
  for (const id of [...ids, after])
    await until(`webhook of ${id}`, async () => (hooks.deliveries.get(id) ? true : undefined))
  await sleep(3 * LOCK_MS) // several stalled-job checks: time for a second run or webhook to show, if any

  const runs = server.runs().filter((tag) => tag !== 'warm-up' && tag !== 'sync')
  for (let i = 0; i < JOBS; i++)
    assert.equal(runs.filter((tag) => tag === `job-${i}`).length, 1, `job-${i} ran once: ${runs.join(',')}`)
  assert.deepEqual(
    runs.filter((tag) => tag.startsWith('refused')),
    [],
    'a submit that got 503 never runs',
  )
  for (const id of [...ids, after]) assert.equal(hooks.deliveries.get(id), 1, `one webhook for ${id}`)
  assert.equal(hooks.deliveries.size, ids.length + 1)

  const warnings = server.logs.filter((line) => String(line.msg).startsWith(OUTAGE_MARK))
  assert.equal(warnings.length, 1, `one warning for one outage: ${JSON.stringify(warnings)}`)
  assert.equal(warnings[0]!.level, 40)
  assert.ok(server.logs.some((line) => line.msg === 'Redis is available again'))
  assert.doesNotMatch(server.stderr(), /ECONNREFUSED|Unhandled error/, 'no raw ioredis errors on stderr')
})

test('carafe serve starts while its Redis is down, says jobs are unavailable, and takes jobs once Redis is up', {
  skip: missing && loudSkipServer('the Redis outage tests', missing),
}, async (t) => {
  const redis = await privateRedis(t) // not started yet: connections are refused
  const server = await serve(t, redis, {})
  const jobsUrl = `${server.url}/v1/models/records-runs/jobs`
  const refused = await call('POST', jobsUrl, { instances: [{ tag: 'refused' }] })
  assert.equal(refused.status, 503)
  assert.equal(refused.body.error.code, 'JOBS_UNAVAILABLE')
  const ready = await call('GET', `${server.url}/readyz`)
  assert.equal(ready.status, 200)
  assert.equal(ready.body.details.jobs.available, false)
  assert.equal(
    (await call('POST', `${server.url}/v1/models/records-runs:predict`, { instances: [{ tag: 'sync' }] })).status,
    200,
  )

  await redis.start()
  const id = await until('a submit once Redis is up', async () => {
    const created = await call('POST', jobsUrl, { instances: [{ tag: 'accepted' }] })
    return created.status === 202 ? (created.body.id as string) : undefined
  })
  await until('the job', async () => ((await statusOf(server.url, id)) === 'succeeded' ? true : undefined))
  assert.equal((await call('GET', `${server.url}/readyz`)).body.details.jobs.available, true)
  assert.deepEqual(
    server.runs().filter((tag) => tag === 'accepted' || tag === 'refused'),
    ['accepted'],
  )
  assert.equal(server.logs.filter((line) => String(line.msg).startsWith(OUTAGE_MARK)).length, 1)
  assert.doesNotMatch(server.stderr(), /ECONNREFUSED|Unhandled error/, 'no raw ioredis errors on stderr')
})

test('SIGTERM while Redis is down: carafe serve still stops', {
  skip: missing && loudSkipServer('the Redis outage tests', missing),
}, async (t) => {
  const redis = await privateRedis(t) // never started
  const server = await serve(t, redis, {})
  const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)))
  server.child.kill('SIGTERM')
  const code = await Promise.race([exited, sleep(10_000).then(() => 'still running after 10 s')])
  assert.equal(code, 0)
})
