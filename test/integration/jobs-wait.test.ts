import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fixture } from '../helpers/paths.js'
import { loudSkipReason, REDIS_URL, redisDown, removeKeys } from '../helpers/redis.js'
import { get, post, startServer, type TestServer } from '../helpers/server.js'
import { readEvents, type SseEvent } from '../helpers/sse.js'
import { waitFor } from '../helpers/poll.js'

const GATED = fixture('handlers/gated-progress.ts')

/** Prefer: wait, the long poll and the event stream, against one job store. */
function waitingSuite(store: string, jobs: () => string) {
  describe(`waiting on jobs (${store} store)`, () => {
    let server: TestServer
    let gates: string
    let gateCount = 0
    const newGate = () => join(gates, `gate-${gateCount++}`)
    const open = (gate: string) => writeFile(gate, '')
    const submit = (gate: string, headers: Record<string, string> = {}) =>
      post(`${server.url}/v1/models/gated/jobs`, { instances: [{ gate }] }, headers)

    before(async () => {
      gates = await mkdtemp(join(tmpdir(), 'carafe-gates-'))
      server = await startServer(GATED, { config: { jobs: jobs(), jobConcurrency: 8 } })
    })
    after(async () => {
      await server.close()
      await rm(gates, { recursive: true, force: true })
    })

    it('Prefer: wait answers 201 with the finished job when it finishes in time', async () => {
      const gate = newGate()
      await open(gate)
      const created = await submit(gate, { prefer: 'wait=30' })
      assert.equal(created.status, 201)
      assert.equal(created.headers.get('preference-applied'), 'wait=30')
      assert.equal(created.headers.get('location'), `/v1/jobs/${created.body.id}`)
      assert.equal(created.body.status, 'succeeded')
      assert.deepEqual(created.body.result, { predictions: [{ released: gate }] })
    })

    it('Prefer: wait answers 202 with the current state when the job is still held', async () => {
      const gate = newGate()
      const created = await submit(gate, { prefer: 'respond-async, wait=1' })
      assert.equal(created.status, 202)
      assert.equal(created.headers.get('preference-applied'), 'wait=1')
      assert.ok(['queued', 'running'].includes(created.body.status), created.body.status)
      assert.equal(created.body.result, undefined)
      await open(gate)
      await waitFor(`${server.url}/v1/jobs/${created.body.id}`, (b) => b.status === 'succeeded')
    })

    it('Prefer: wait is capped at 60 s; one it cannot use is ignored (RFC 7240), not refused', async () => {
      const gate = newGate()
      await open(gate)
      const capped = await submit(gate, { prefer: 'wait=3600' })
      assert.equal(capped.status, 201)
      assert.equal(capped.headers.get('preference-applied'), 'wait=60')
      const ignored = await submit(gate, { prefer: 'wait=soon' })
      assert.equal(ignored.status, 202)
      assert.equal(ignored.headers.get('preference-applied'), null)
    })

    it('a long poll answers as soon as the held job finishes, with its result', async () => {
      const gate = newGate()
      const { body } = await submit(gate)
      await waitFor(`${server.url}/v1/jobs/${body.id}`, (b) => b.status === 'running')
      let answered = false
      const poll = get(`${server.url}/v1/jobs/${body.id}?wait=60`).finally(() => {
        answered = true
      })
      await new Promise((resolve) => setTimeout(resolve, 200))
      assert.equal(answered, false, 'the long poll answered while the job was still held')
      await open(gate)
      const done = await poll // a poll that missed the finish would answer "running" after 60 s
      assert.equal(done.status, 200)
      assert.equal(done.body.status, 'succeeded')
      assert.deepEqual(done.body.result, { predictions: [{ released: gate }] })
      // a final job answers at once; wait=0 is a plain poll
      assert.equal((await get(`${server.url}/v1/jobs/${body.id}?wait=60`)).body.status, 'succeeded')
      assert.equal((await get(`${server.url}/v1/jobs/${body.id}?wait=0`)).body.status, 'succeeded')
    })

    it('many requests waiting at once raise no listener-leak warning', async () => {
      // each waiting request listens on the routes' one closing signal: past 10, Node warned of a leak on every start
      const warnings: string[] = []
      const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`)
      process.on('warning', onWarning)
      try {
        const gate = newGate()
        const { body } = await submit(gate)
        const waiting = [
          ...Array.from({ length: 12 }, () => get(`${server.url}/v1/jobs/${body.id}?wait=60`)),
          submit(gate, { prefer: 'wait=60' }),
        ]
        await new Promise((resolve) => setTimeout(resolve, 300))
        await open(gate)
        for (const answer of await Promise.all(waiting)) assert.equal(answer.body.status, 'succeeded')
        await new Promise((resolve) => setImmediate(resolve)) // warnings are emitted on a later tick
        assert.deepEqual(
          warnings.filter((w) => w.startsWith('MaxListenersExceededWarning')),
          [],
        )
      } finally {
        process.off('warning', onWarning)
      }
    })

    it('a long poll with a bad wait is 400 INVALID_WAIT; an unknown job is 404', async () => {
      const { body } = await submit(newGate())
      for (const wait of ['-1', '61', 'soon', '1.5', '', '9999999999']) {
        const bad = await get(`${server.url}/v1/jobs/${body.id}?wait=${wait}`)
        assert.equal(bad.status, 400, `wait=${wait}`)
        assert.equal(bad.body.error.code, 'INVALID_WAIT')
        assert.deepEqual(bad.body.error.details, [{ query: 'wait' }])
      }
      assert.equal((await get(`${server.url}/v1/jobs/${body.id}?wait=1&wait=2`)).body.error.code, 'INVALID_WAIT')
      const missing = await get(`${server.url}/v1/jobs/${randomUUID()}?wait=1`)
      assert.equal(missing.status, 404)
      assert.equal(missing.body.error.code, 'JOB_NOT_FOUND')
      await fetch(`${server.url}/v1/jobs/${body.id}`, { method: 'DELETE' })
    })

    it('the event stream sends progress, then the final state with the result, then closes', async () => {
      const gate = newGate()
      const { body } = await submit(gate)
      const response = await fetch(`${server.url}/v1/jobs/${body.id}/events`)
      assert.equal(response.status, 200)
      assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/)
      assert.equal(response.headers.get('cache-control'), 'no-cache')
      const events: SseEvent[] = []
      for await (const event of readEvents(response)) {
        events.push(event)
        const job = JSON.parse(event.data)
        if (event.event === 'progress' && job.progress === 0.5) await open(gate)
      }
      // the loop ended: the server closed the stream after the final event
      const names = events.map((e) => e.event)
      assert.deepEqual(names.slice(-1), ['done'])
      assert.ok(names.slice(0, -1).every((n) => n === 'progress'))
      const progress = events.slice(0, -1).map((e) => JSON.parse(e.data).progress)
      assert.ok(progress.includes(0.5), `progress events ${progress}`)
      assert.deepEqual(progress, [...progress].sort(), 'progress never goes back')
      const final = JSON.parse(events.at(-1)!.data)
      assert.equal(final.status, 'succeeded')
      assert.deepEqual(final.result, { predictions: [{ released: gate }] })
      assert.equal(events.at(-1)!.id, 'done')
    })

    it('the event stream of a final job is its final event at once; canceled and unknown jobs too', async () => {
      const gate = newGate()
      await open(gate)
      const { body } = await submit(gate, { prefer: 'wait=30' })
      const events: SseEvent[] = []
      for await (const event of readEvents(await fetch(`${server.url}/v1/jobs/${body.id}/events`))) events.push(event)
      assert.deepEqual(
        events.map((e) => [e.event, JSON.parse(e.data).status]),
        [['done', 'succeeded']],
      )
      // an EventSource that reconnects after the final event is told to stop
      const again = await fetch(`${server.url}/v1/jobs/${body.id}/events`, { headers: { 'last-event-id': 'done' } })
      assert.equal(again.status, 204)

      const held = await submit(newGate())
      const stream = readEvents(await fetch(`${server.url}/v1/jobs/${held.body.id}/events`))
      assert.equal((await stream.next()).value?.event, 'progress')
      await fetch(`${server.url}/v1/jobs/${held.body.id}`, { method: 'DELETE' })
      const rest: SseEvent[] = []
      for await (const event of stream) rest.push(event)
      assert.equal(JSON.parse(rest.at(-1)!.data).status, 'canceled')

      const missing = await get(`${server.url}/v1/jobs/${randomUUID()}/events`)
      assert.equal(missing.status, 404)
      assert.equal(missing.body.error.code, 'JOB_NOT_FOUND')
    })
  })
}

waitingSuite('embedded', () => 'embedded')

const down = await redisDown()
if (down) {
  const reason = loudSkipReason('the redis cases of jobs-wait.test.ts', down)
  it('waiting on jobs (redis store)', (t) => {
    t.skip(reason)
  })
} else {
  const prefix = `carafe-test:${randomUUID()}`
  after(() => removeKeys(prefix))
  waitingSuite('redis', () => `${REDIS_URL}/0?prefix=${encodeURIComponent(prefix)}`)
}

describe('waiting ends when the server closes', () => {
  it('an open event stream and a long poll end when the server shuts down', async () => {
    const gates = await mkdtemp(join(tmpdir(), 'carafe-gates-'))
    // the held job runs on through the shutdown, up to shutdownTimeoutMs: a short one keeps this test short
    const server = await startServer(GATED, { config: { shutdownTimeoutMs: 1000 } })
    try {
      const gate = join(gates, 'never')
      const { body } = await post(`${server.url}/v1/models/gated/jobs`, { instances: [{ gate }] })
      await waitFor(`${server.url}/v1/jobs/${body.id}`, (b) => b.status === 'running')
      const stream = readEvents(await fetch(`${server.url}/v1/jobs/${body.id}/events`))
      assert.equal((await stream.next()).value?.event, 'progress')
      const poll = get(`${server.url}/v1/jobs/${body.id}?wait=60`)
      await new Promise((resolve) => setTimeout(resolve, 100))
      await server.close() // would wait for the job's gate (never opened) if the waits held the server open
      const rest: string[] = []
      for await (const event of stream) rest.push(event.event)
      assert.ok(!rest.includes('done'), 'the job never finished, so no final event')
      assert.equal((await poll).body.status, 'running')
    } finally {
      await rm(gates, { recursive: true, force: true })
    }
  })
})
