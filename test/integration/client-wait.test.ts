import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { createClient } from '../../src/client/index.js'
import { fixture } from '../helpers/paths.js'
import { get, startServer } from '../helpers/server.js'

const GATED = fixture('handlers/gated-progress.ts')
const KEY = 'k'.repeat(24)

test('client submitAndWait follows the event stream (with the API key) to the result, without polling', async (t) => {
  const gates = await mkdtemp(join(tmpdir(), 'carafe-gates-'))
  t.after(() => rm(gates, { recursive: true, force: true }))
  const server = await startServer(GATED, { t, config: { apiKeys: [KEY] } })
  const client = createClient({ baseUrl: server.url, apiKey: KEY })
  const gate = join(gates, 'a')
  const seen: [number, string][] = []
  const done = await client.submitAndWait<{ gate: string }, { released: string }>('gated', [{ gate }], {
    onProgress: (fraction, job) => {
      seen.push([fraction, job.status])
      if (fraction === 0.5) void writeFile(gate, '')
    },
  })
  assert.equal(done.status, 'succeeded')
  assert.deepEqual(done.result?.predictions, [{ released: gate }])
  assert.ok(
    seen.some(([fraction]) => fraction === 0.5),
    JSON.stringify(seen),
  )
  assert.deepEqual(seen.at(-1), [1, 'succeeded'])
  const urls = server.logs.filter((line) => line.msg === 'request').map((line) => `${line.method} ${line.url}`)
  assert.deepEqual(
    urls.filter((url) => url.startsWith('GET /v1/jobs/')),
    [`GET /v1/jobs/${done.id}/events`],
  )
  // the stream is behind the API key like every job route
  assert.equal((await get(`${server.url}/v1/jobs/${done.id}/events`)).status, 401)
})

test('client submitAndWait stops when its signal fires', async (t) => {
  const gates = await mkdtemp(join(tmpdir(), 'carafe-gates-'))
  t.after(() => rm(gates, { recursive: true, force: true }))
  const server = await startServer(GATED, { t })
  const client = createClient({ baseUrl: server.url })
  const controller = new AbortController()
  let id = ''
  const waiting = client.submitAndWait('gated', [{ gate: join(gates, 'never') }], {
    signal: controller.signal,
    onProgress: (fraction, job) => {
      id = job.id
      if (fraction === 0.5) controller.abort()
    },
  })
  await assert.rejects(waiting, { name: 'AbortError' })
  assert.equal((await client.cancelJob(id)).status, 'canceled')
  // undici opens a connection ahead of need after the abort; it must not hold the shutdown
  assert.equal(await server.carafe.close(), 'clean')
})
