import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { modelDir } from '../helpers/model-dir.js'
import { example, fixture } from '../helpers/paths.js'
import { waitFor } from '../helpers/poll.js'
import { get, post, startServer, type TestServer } from '../helpers/server.js'

const TTL_MS = 1000
const IRIS_ROW = [5.1, 3.5, 1.4, 0.2]

// counts-calls answers with the number of the predict call that computed each output: a cached answer carries an
// earlier call's number and is deep-equal to the first answer; a fresh one carries a new number.
describe('prediction cache', () => {
  let server: TestServer
  let ttlDir: string
  before(async () => {
    // the same handler as a model directory whose carafe.yaml sets the cache (the other path to the settings)
    ttlDir = await modelDir({
      'carafe.yaml': `name: counts-ttl\ncache: { maxEntries: 2, ttlMs: ${TTL_MS} }\n`,
      '1/model.ts': readFileSync(fixture('handlers/counts-calls.ts'), 'utf8'),
    })
    server = await startServer([fixture('handlers/counts-calls.ts'), ttlDir, example('iris')], {
      config: {
        models: { 'counts-calls': { cache: { maxEntries: 100 } }, iris: { cache: { maxEntries: 100, ttlMs: 0 } } },
      },
    })
  })
  after(() => server.close())

  const predict = (model: string, instances: unknown[]) =>
    post(`${server.url}/v1/models/${model}:predict`, { instances })
  const described = async (model: string) => (await get(`${server.url}/v1/models/${model}`)).body

  it('is off unless a model sets it, and GET /v1/models/{name} shows the settings from either source', async () => {
    assert.deepEqual((await described('counts-calls')).cache, { maxEntries: 100, ttlMs: 0 })
    assert.deepEqual((await described('counts-ttl')).cache, { maxEntries: 2, ttlMs: TTL_MS })
    const plain = await startServer(example('iris'), {})
    try {
      const iris = (await get(`${plain.url}/v1/models/iris`)).body
      assert.equal(iris.cache, null)
      assert.equal(iris.stats.cache, undefined)
    } finally {
      await plain.close()
    }
  })

  it('answers a repeated instance from the cache, identical, without running the model; key order does not matter', async () => {
    const first = await predict('counts-calls', [{ x: 1, tag: 'a' }])
    assert.equal(first.status, 200, first.text)
    const before = (await described('counts-calls')).stats
    const again = await predict('counts-calls', [{ tag: 'a', x: 1 }])
    assert.equal(again.status, 200, again.text)
    assert.deepEqual(again.body, first.body)
    const stats = (await described('counts-calls')).stats
    assert.equal(stats.rows, before.rows, 'the model ran no row')
    assert.equal(stats.cache.hits, before.cache.hits + 1)
    assert.equal(stats.cache.misses, before.cache.misses)
    // another value is another key
    const other = await predict('counts-calls', [{ x: 1, tag: 'b' }])
    assert.ok(other.body.predictions[0].call > first.body.predictions[0].call)
  })

  it('sends only the misses of a request to the model and answers in order', async () => {
    const warm = await predict('counts-calls', [{ x: 10 }, { x: 11 }])
    assert.equal(warm.status, 200, warm.text)
    const [ten, eleven] = warm.body.predictions
    const before = (await described('counts-calls')).stats
    const mixed = await predict('counts-calls', [{ x: 11 }, { x: 12 }, { x: 10 }])
    assert.equal(mixed.status, 200, mixed.text)
    const [a, b, c] = mixed.body.predictions
    assert.deepEqual(a, eleven)
    assert.deepEqual(c, ten)
    assert.equal(b.y, 24)
    assert.equal(b.batchSize, 1, 'the model saw one instance')
    assert.ok(b.call > ten.call)
    const stats = (await described('counts-calls')).stats
    assert.equal(stats.rows - before.rows, 1)
    assert.equal(stats.cache.hits - before.cache.hits, 2)
    assert.equal(stats.cache.misses - before.cache.misses, 1)
  })

  it('never stores a failure', async () => {
    const failed = await predict('counts-calls', [{ x: 5, tag: 'fail-once' }])
    assert.equal(failed.status, 500)
    assert.equal(failed.body.error.code, 'PREDICTION_FAILED')
    // a cached failure would answer 500 again; the model runs and succeeds this time, and that answer is kept
    const retried = await predict('counts-calls', [{ x: 5, tag: 'fail-once' }])
    assert.equal(retried.status, 200, retried.text)
    assert.equal(retried.body.predictions[0].y, 10)
    assert.deepEqual((await predict('counts-calls', [{ tag: 'fail-once', x: 5 }])).body, retried.body)

    const before = (await described('counts-calls')).stats.cache
    for (let i = 0; i < 2; i++) assert.equal((await predict('counts-calls', [{ x: -1 }])).status, 500)
    const stats = (await described('counts-calls')).stats.cache
    assert.equal(stats.misses - before.misses, 2)
    assert.equal(stats.entries, before.entries)
  })

  it('misses after ttlMs, and keeps at most maxEntries (least recently used leaves)', async () => {
    const first = await predict('counts-ttl', [{ x: 1 }])
    assert.equal(first.status, 200, first.text)
    assert.deepEqual((await predict('counts-ttl', [{ x: 1 }])).body, first.body) // well within the ttl
    await sleep(TTL_MS + 200)
    const expired = await predict('counts-ttl', [{ x: 1 }])
    assert.equal(expired.body.predictions[0].y, 2)
    assert.ok(expired.body.predictions[0].call > first.body.predictions[0].call, 'after the ttl the model ran again')

    const three = await predict('counts-ttl', [{ x: 21 }, { x: 22 }, { x: 23 }])
    assert.equal((await described('counts-ttl')).stats.cache.entries, 2)
    assert.deepEqual((await predict('counts-ttl', [{ x: 23 }])).body.predictions[0], three.body.predictions[2])
    const evicted = await predict('counts-ttl', [{ x: 21 }])
    assert.ok(evicted.body.predictions[0].call > three.body.predictions[0].call, 'the oldest entry was evicted')
  })

  it('serves V1, KServe V2 and jobs from one cache (an ONNX model)', async () => {
    const v1 = await predict('iris', [IRIS_ROW])
    assert.equal(v1.status, 200, v1.text)
    const v2 = await post(`${server.url}/v2/models/iris/infer`, {
      inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: IRIS_ROW }],
    })
    assert.equal(v2.status, 200, v2.text)
    assert.deepEqual(v2.body.outputs.find((o: { name: string }) => o.name === 'label').data, [
      v1.body.predictions[0].label,
    ])
    const job = await post(`${server.url}/v1/models/iris/jobs`, { instances: [IRIS_ROW, [6.7, 3.0, 5.2, 2.3]] })
    assert.equal(job.status, 202, job.text)
    const done = await waitFor(
      `${server.url}/v1/jobs/${job.body.id}`,
      (body) => body.status === 'succeeded' || body.status === 'failed',
    )
    assert.equal(done.status, 'succeeded', JSON.stringify(done))
    assert.deepEqual(done.result.predictions[0], v1.body.predictions[0])
    assert.equal(done.result.predictions[1].label, 'virginica')
    const stats = (await described('iris')).stats
    assert.deepEqual(stats.cache, { hits: 2, misses: 2, entries: 2 })
  })
})
