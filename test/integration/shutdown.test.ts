import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { spawnServe } from '../helpers/cli.js'
import { fixture } from '../helpers/paths.js'
import { parseAnswer } from '../helpers/raw-http.js'
import { get, post } from '../helpers/server.js'

const handler = (name: string) => join(fixture('handlers'), `${name}.ts`)
const isClosing = (line: Record<string, unknown>) => String(line.msg).startsWith('closing:')

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'carafe-shutdown-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Resolves with the exit code, or rejects if the process is still running after `ms` (generous: a bound, not a timing). */
function exitWithin(exited: Promise<number | null>, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    exited.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still running ${ms} ms after SIGTERM`)), ms)
    }),
  ])
}

test('SIGTERM under load: every accepted request is answered 200, late ones get SHUTTING_DOWN, exit code 0', async (t) => {
  const server = await spawnServe([handler('sleeps'), '--port', '0', '--data-dir', tempDir(t)], t)
  const { url } = server
  const accepted = Array.from({ length: 5 }, (_, i) =>
    post(`${url}/v1/models/sleeps:predict`, { instances: [200 + i] }),
  )
  for (let i = 0; (await get(`${url}/v1/models/sleeps`)).body.stats.queueDepth < 4; i++) {
    assert.ok(i < 500, 'the requests never queued')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  // A late request, for sure: its connection is open and its request half sent before SIGTERM (so the listener's
  // close does not drop it as idle), and it is completed only once the server has begun refusing new work.
  const late = connect({ host: '127.0.0.1', port: Number(new URL(url).port) })
  const received: Buffer[] = []
  late.on('data', (chunk) => received.push(chunk))
  const lateClosed = new Promise((resolve) => late.once('close', resolve))
  await new Promise<void>((resolve) =>
    late.write('POST /v1/models/sleeps:predict HTTP/1.1\r\nhost: carafe\r\n', () => resolve()),
  )
  server.child.kill('SIGTERM')
  await server.waitForLog(isClosing)
  const body = JSON.stringify({ instances: [1] })
  late.end(`content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`)
  await lateClosed
  const answer = parseAnswer(Buffer.concat(received))
  assert.equal(answer.status, 503, answer.body)
  assert.equal(JSON.parse(answer.body).error.code, 'SHUTTING_DOWN')

  const answers = await Promise.all(accepted)
  assert.deepEqual(
    answers.map((a) => a.status),
    [200, 200, 200, 200, 200],
  )
  assert.deepEqual(
    answers.map((a) => a.body.predictions[0].x),
    [200, 201, 202, 203, 204],
  )
  // answered after SIGTERM: each tells its keep-alive client to reconnect elsewhere
  assert.deepEqual(
    answers.map((a) => a.headers.get('connection')),
    ['close', 'close', 'close', 'close', 'close'],
  )
  assert.equal(await server.exited, 0)
})

test('SIGTERM with queued jobs: none fails; after a restart on the same data dir every one succeeds', async (t) => {
  const dataDir = tempDir(t)
  const args = [handler('sleeps'), handler('calls-later'), handler('echo'), '--port', '0', '--data-dir', dataDir]
  const env = { CARAFE_JOB_CONCURRENCY: '2' } // two run at once, eight wait in the store's queue
  const first = await spawnServe(args, t, { env })
  const ids: string[] = []
  for (let i = 0; i < 10; i++) {
    const submitted = await post(`${first.url}/v1/models/sleeps/jobs`, { instances: [300] })
    assert.equal(submitted.status, 202, submitted.text)
    ids.push(submitted.body.id)
  }
  for (let i = 0; (await get(`${first.url}/v1/jobs/${ids[0]}`)).body.status === 'queued'; i++) {
    assert.ok(i < 500, 'the first job never started')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  const before = await Promise.all(ids.map(async (id) => (await get(`${first.url}/v1/jobs/${id}`)).body.status))
  assert.ok(before.includes('queued'), `some jobs still wait at SIGTERM: ${before}`)
  // under load: a sync request in flight keeps the HTTP side busy for a while after SIGTERM
  const inFlight = post(`${first.url}/v1/models/calls-later:predict`, {
    instances: [{ x: 1, delayMs: 1500, call: false }],
  })
  await first.waitForLog((line) => line.msg === 'calls-later started')
  first.child.kill('SIGTERM')
  assert.equal((await inFlight).status, 200)
  assert.equal(await first.exited, 0)
  const closedWith = first.logs.filter((line) => line.msg === 'request' && line.status === 500)
  assert.deepEqual(closedWith, [])

  const second = await spawnServe(args, t, { env })
  const statuses: Record<string, string> = {}
  for (const id of ids) {
    for (let i = 0; ; i++) {
      const { body } = await get(`${second.url}/v1/jobs/${id}`)
      if (['succeeded', 'failed', 'canceled'].includes(body.status)) {
        statuses[id] = body.status === 'failed' ? `failed ${body.error?.code}` : body.status
        break
      }
      assert.ok(i < 3000, `job ${id} never finished (${body.status})`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
  assert.deepEqual(Object.values(statuses), Array(10).fill('succeeded'))
  second.child.kill('SIGTERM')
  assert.equal(await second.exited, 0)
})

test('a composed model in flight at SIGTERM still reaches the model it calls and answers 200', async (t) => {
  const server = await spawnServe([handler('calls-later'), handler('echo'), '--port', '0', '--data-dir', tempDir(t)], t)
  // calls-later waits 1.5 s, then asks echo through ctx.models: the call happens during the shutdown
  const composed = post(`${server.url}/v1/models/calls-later:predict`, { instances: [{ x: 21, delayMs: 1500 }] })
  await server.waitForLog((line) => line.msg === 'calls-later started')
  server.child.kill('SIGTERM')
  const answer = await composed
  assert.equal(answer.status, 200, answer.text)
  assert.equal(answer.body.predictions[0].answer.y, 42)
  assert.equal(await server.exited, 0)
})

test('SIGTERM with a model stuck in a request ends within shutdownTimeoutMs: the request gets SHUTTING_DOWN', async (t) => {
  // the request's own deadline is 120 s away: only the shutdown bound can end it sooner
  const server = await spawnServe(
    [
      handler('spins'),
      '--port',
      '0',
      '--data-dir',
      tempDir(t),
      '--timeout-ms',
      '120000',
      '--shutdown-timeout-ms',
      '500',
    ],
    t,
  )
  const stuck = post(`${server.url}/v1/models/spins:predict`, { instances: [666] })
  const behind = post(`${server.url}/v1/models/spins:predict`, { instances: [1] })
  for (let i = 0; (await get(`${server.url}/v1/models/spins`)).body.stats.queueDepth < 1; i++) {
    assert.ok(i < 500, 'the second request never queued behind the stuck one')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  server.child.kill('SIGTERM')
  assert.equal(await exitWithin(server.exited, 20_000), 1, 'exit code 1: the shutdown was cut short')
  assert.ok(server.logs.some((line) => String(line.msg).startsWith('shutdown timed out')))
  for (const answer of await Promise.all([stuck, behind])) {
    assert.equal(answer.status, 503, answer.text)
    assert.equal(answer.body.error.code, 'SHUTTING_DOWN')
  }
})

test('SIGTERM while a model crash-loops in setup, or hangs in it, still ends within shutdownTimeoutMs', async (t) => {
  const dir = tempDir(t)
  const flag = join(dir, 'fail-setup')
  const server = await spawnServe(
    [handler('crash-loops'), '--port', '0', '--data-dir', dir, '--shutdown-timeout-ms', '1000'],
    t,
    { env: { CARAFE_TEST_FAIL_SETUP: flag } },
  )
  writeFileSync(flag, '')
  assert.equal((await post(`${server.url}/v1/models/crash-loops:predict`, { instances: [13] })).status, 503)
  await server.waitForLog((line) => line.msg === 'runner restart failed')
  writeFileSync(flag, 'hang') // the next restart's setup never ends
  await new Promise((resolve) => setTimeout(resolve, 1000)) // a restart that read the file before is over by now
  const restarts = server.logs.filter((line) => line.msg === 'runner restart failed').length
  await new Promise((resolve) => setTimeout(resolve, 1500)) // past the next back-off: a setup is hanging now
  assert.equal(
    server.logs.filter((line) => line.msg === 'runner restart failed').length,
    restarts,
    'the hanging setup fails no more',
  )
  server.child.kill('SIGTERM')
  // nothing was accepted and left unanswered, so nothing is cut short: exit 0
  assert.equal(await exitWithin(server.exited, 20_000), 0)
})
