import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { ModelSettings } from '../../src/config/index.js'
import { loadAll } from '../../src/http/index.js'
import { get, post, startServer } from '../helpers/server.js'
import { fixture } from '../helpers/paths.js'

async function sleeps(settings: ModelSettings) {
  const [descriptor] = await loadAll([join(fixture('handlers'), 'sleeps.ts')])
  descriptor.settings = { ...descriptor.settings, ...settings }
  return [descriptor]
}

/** Fire `total` requests, `concurrency` at a time; count answers by status/code. */
async function flood(url: string, total: number, concurrency: number, value: number) {
  const counts: Record<string, number> = {}
  const retryAfter: number[] = []
  let sent = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (sent < total) {
        sent++
        const r = await post(`${url}/v1/models/sleeps:predict`, { instances: [value] })
        const key = r.status === 200 ? '200' : `${r.status} ${r.body?.error?.code}`
        counts[key] = (counts[key] ?? 0) + 1
        if (r.headers.get('retry-after')) retryAfter.push(Number(r.headers.get('retry-after')))
      }
    }),
  )
  return { counts, retryAfter }
}

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
const heapAfterGc = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

test('past maxQueue: 503 OVERLOADED with Retry-After; memory stays flat across two bounded floods', async (t) => {
  const { url } = await startServer(await sleeps({ maxQueue: 8 }), { t })
  const first = await flood(url, 300, 48, 5)
  assert.ok(first.counts['503 OVERLOADED'] > 0, `no OVERLOADED in ${JSON.stringify(first.counts)}`)
  assert.deepEqual(Object.keys(first.counts).sort(), ['200', '503 OVERLOADED'])
  assert.ok(first.retryAfter.length > 0 && first.retryAfter.every((s) => Number.isInteger(s) && s >= 1))
  const before = heapAfterGc()
  await flood(url, 300, 48, 5)
  const after = heapAfterGc()
  const model = (await get(`${url}/v1/models/sleeps`)).body
  assert.equal(model.stats.queueDepth, 0)
  t.diagnostic(
    `heap after gc: ${(before / 1048576).toFixed(1)} MB → ${(after / 1048576).toFixed(1)} MB; first flood ${JSON.stringify(first.counts)}`,
  )
  // the same bounded flood again must not leave more behind than noise (a leak per request would show as MBs)
  assert.ok(
    after - before < 8 * 1024 * 1024,
    `heap grew by ${((after - before) / 1048576).toFixed(1)} MB across the second flood`,
  )
})

test('a request that cannot meet its deadline given the queue ahead is refused at once', async (t) => {
  const { url } = await startServer(await sleeps({}), { t })
  assert.equal((await post(`${url}/v1/models/sleeps:predict`, { instances: [200] })).status, 200) // observed: ~200 ms a batch
  const busy = post(`${url}/v1/models/sleeps:predict`, { instances: [400] })
  await new Promise((resolve) => setTimeout(resolve, 50))
  const queued = post(`${url}/v1/models/sleeps:predict`, { instances: [1] })
  await new Promise((resolve) => setTimeout(resolve, 50))
  const hopeless = await post(`${url}/v1/models/sleeps:predict`, { instances: [1] }, { 'x-carafe-timeout-ms': '100' })
  assert.equal(hopeless.status, 503)
  assert.equal(hopeless.body.error.code, 'OVERLOADED')
  assert.match(hopeless.body.error.message, /cannot answer within 100 ms/)
  assert.ok(Number(hopeless.headers.get('retry-after')) >= 1)
  assert.equal((await busy).status, 200)
  assert.equal((await queued).status, 200)
})

test('a client that hangs up frees its place: its queued items never reach the model', async (t) => {
  const { url } = await startServer(await sleeps({}), { t })
  const busy = post(`${url}/v1/models/sleeps:predict`, { instances: [600] })
  await new Promise((resolve) => setTimeout(resolve, 50))
  const controllers = [0, 1, 2].map(() => new AbortController())
  const abandoned = controllers.map((c) =>
    fetch(`${url}/v1/models/sleeps:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [1] }),
      signal: c.signal,
    }).catch(() => 'aborted'),
  )
  for (let i = 0; (await get(`${url}/v1/models/sleeps`)).body.stats.queueDepth < 3; i++) {
    assert.ok(i < 200, 'the three requests never queued')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  for (const c of controllers) c.abort()
  assert.deepEqual(await Promise.all(abandoned), ['aborted', 'aborted', 'aborted'])
  for (let i = 0; (await get(`${url}/v1/models/sleeps`)).body.stats.queueDepth > 0; i++) {
    assert.ok(i < 200, 'abandoned items stayed queued')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  assert.equal((await busy).status, 200)
  const last = await post(`${url}/v1/models/sleeps:predict`, { instances: [0] })
  // the model saw warm-up, the busy row and this one: none of the three abandoned rows
  assert.deepEqual(last.body.predictions, [{ x: 0, seen: 3 }])
})
