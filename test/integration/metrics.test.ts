import assert from 'node:assert/strict'
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { it } from 'node:test'
import { example, fixture } from '../helpers/paths.js'
import { get, post, startServer } from '../helpers/server.js'

const KEY = 'metrics-key-0123456789'

it('GET /metrics counts requests by model, route and status, with model gauges and process metrics', async (t) => {
  const { url } = await startServer(example('iris'), { t })
  for (let i = 0; i < 3; i++)
    assert.equal((await post(`${url}/v1/models/iris:predict`, { instances: [[5.1, 3.5, 1.4, 0.2]] })).status, 200)
  assert.equal((await post(`${url}/v1/models/iris:predict`, { instances: [['x', 1, 1, 1]] })).status, 400)
  const job = await post(`${url}/v1/models/iris/jobs`, { instances: [[6.7, 3.0, 5.2, 2.3]] })
  assert.equal(job.status, 202)
  for (let i = 0; i < 200 && (await get(`${url}/v1/jobs/${job.body.id}`)).body.status !== 'succeeded'; i++)
    await new Promise((r) => setTimeout(r, 25))
  const { status, text, headers } = await get(`${url}/metrics`)
  assert.equal(status, 200)
  assert.match(headers.get('content-type')!, /text\/plain/)
  assert.match(text, /carafe_requests_total\{model="iris",route="\/v1\/models\/:name:predict",status="200"\} 3/)
  assert.match(text, /carafe_requests_total\{model="iris",route="[^"]+",status="400"\} 1/)
  assert.match(text, /carafe_request_duration_seconds_bucket\{le="0.0005",model="iris",route="[^"]+"\}/)
  assert.match(text, /carafe_request_duration_seconds_count\{model="iris",route="[^"]+"\} 4/)
  assert.match(text, /carafe_queue_depth\{model="iris",version="1"\} 0/)
  assert.match(text, /carafe_runner_restarts\{model="iris",version="1"\} 0/)
  // three requests and one job, one row each, each its own batch (they were sent one after another)
  assert.match(text, /carafe_batch_rows\{model="iris",version="1"\} 4/)
  assert.match(text, /carafe_batch_size_bucket\{le="1",model="iris",version="1"\} 4/)
  assert.match(text, /carafe_batch_size_count\{model="iris",version="1"\} 4/)
  assert.match(text, /carafe_inference_duration_seconds_count\{model="iris",version="1"\} 4/)
  assert.match(text, /carafe_queue_wait_seconds_count\{model="iris",version="1"\} 4/)
  assert.match(text, /carafe_jobs\{model="iris",status="succeeded"\} 1/)
  assert.match(text, /carafe_jobs\{model="iris",status="failed"\} 0/)
  assert.match(text, /carafe_job_queue_depth\{model="iris"\} 0/)
  assert.match(text, /carafe_process_cpu_seconds_total/)
  // the prediction cache is off unless a model sets it: no series
  assert.doesNotMatch(text, /carafe_cache_(hits|misses)_total\{/)
})

it('counts prediction cache hits and misses per instance, by model', async (t) => {
  const { url } = await startServer(example('iris'), {
    t,
    config: { models: { iris: { cache: { maxEntries: 100 } } } },
  })
  const setosa = [5.1, 3.5, 1.4, 0.2]
  const virginica = [6.7, 3.0, 5.2, 2.3]
  assert.equal((await post(`${url}/v1/models/iris:predict`, { instances: [setosa] })).status, 200) // 1 miss
  assert.equal((await post(`${url}/v1/models/iris:predict`, { instances: [setosa, virginica] })).status, 200) // 1 hit, 1 miss
  assert.equal((await post(`${url}/v1/models/iris:predict`, { instances: [virginica, setosa] })).status, 200) // 2 hits
  const { text } = await get(`${url}/metrics`)
  assert.match(text, /# TYPE carafe_cache_hits_total counter/)
  assert.match(text, /carafe_cache_hits_total\{model="iris",version="1"\} 3\n/)
  assert.match(text, /carafe_cache_misses_total\{model="iris",version="1"\} 2\n/)
  // counters keep their value from one scrape to the next
  assert.equal((await post(`${url}/v1/models/iris:predict`, { instances: [setosa] })).status, 200)
  assert.match((await get(`${url}/metrics`)).text, /carafe_cache_hits_total\{model="iris",version="1"\} 4\n/)
  assert.match(text, /carafe_batch_rows\{model="iris",version="1"\} 2\n/) // only the misses ran
})

it('/metrics is open by default and needs a key with metricsAuth', async (t) => {
  const open = await startServer(example('iris'), { t, config: { apiKeys: [KEY] } })
  assert.equal((await get(`${open.url}/metrics`)).status, 200)
  const closed = await startServer(example('iris'), { t, config: { apiKeys: [KEY], metricsAuth: true } })
  assert.equal((await get(`${closed.url}/metrics`)).status, 401)
  assert.equal((await get(`${closed.url}/metrics`, { 'x-api-token': KEY })).status, 200)
})

it('unknown model names never become label values: /metrics keeps its size through 600 of them', async (t) => {
  const { url } = await startServer(example('iris'), {
    t,
    config: { apiKeys: [KEY], metricsAuth: false, authFailureLimit: 0 },
  })
  const auth = { authorization: `Bearer ${KEY}` }
  const flood = async (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const name = `nope-${i}`
      await get(`${url}/ui/models/${name}`)
      await get(`${url}/v1/models/${name}`, auth)
      await post(`${url}/v1/models/${name}:predict`, { instances: [[1, 1, 1, 1]] }) // 401: no key
      await post(`${url}/v2/models/${name}/infer`, { inputs: [] }, auth)
    }
  }
  await flood(0, 2) // the `_unknown` series exist from here on
  await get(`${url}/metrics`) // and the scrape's own series
  const before = (await get(`${url}/metrics`)).text
  await flood(2, 152) // 600 requests naming 150 more unknown models
  const after = (await get(`${url}/metrics`)).text
  const series = (text: string) => text.split('\n').filter((line) => line.startsWith('carafe_request')).length
  assert.equal(series(after), series(before), 'request series grew with unknown names')
  assert.doesNotMatch(after, /nope-/)
  assert.match(after, /carafe_requests_total\{model="_unknown",route="\/ui\/models\/:name",status="404"\} 152/)
  assert.doesNotMatch(after, /route="[^"]*\(/, 'a route label carries its regex')
})

it('a model serving two versions has per-version batch, queue and runner series; an unloaded version leaves', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'carafe-metrics-'))
  const gates = await mkdtemp(join(tmpdir(), 'carafe-gates-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  t.after(() => rm(gates, { recursive: true, force: true }))
  process.env.CARAFE_TEST_GATES = gates
  await writeFile(join(root, 'carafe.yaml'), 'name: ver\nversionPolicy: { latest: 2 }\n')
  for (const v of ['1', '2']) {
    await writeFile(join(gates, `gate-${v}`), '')
    await mkdir(join(root, v))
    await copyFile(join(fixture('versioned'), 'model.mjs'), join(root, v, 'model.mjs'))
  }
  const { url } = await startServer(root, { t, config: { repositoryPollMs: 0 } })
  for (const [path, times] of [
    ['ver/versions/1', 2],
    ['ver', 3],
  ] as const)
    for (let i = 0; i < times; i++)
      assert.equal((await post(`${url}/v1/models/${path}:predict`, { instances: [{ ms: 0 }] })).status, 200)
  const { text } = await get(`${url}/metrics`)
  for (const [version, count] of [
    ['1', 2],
    ['2', 3],
  ] as const) {
    const v = `model="ver",version="${version}"`
    assert.match(text, new RegExp(`carafe_batch_rows\\{${v}\\} ${count}\\n`))
    assert.match(text, new RegExp(`carafe_batch_size_count\\{${v}\\} ${count}\\n`))
    assert.match(text, new RegExp(`carafe_inference_duration_seconds_count\\{${v}\\} ${count}\\n`))
    assert.match(text, new RegExp(`carafe_queue_wait_seconds_count\\{${v}\\} ${count}\\n`))
    assert.match(text, new RegExp(`carafe_queue_depth\\{${v}\\} 0\\n`))
    assert.match(text, new RegExp(`carafe_runner_restarts\\{${v}\\} 0\\n`))
  }
  const unloaded = await fetch(`${url}/v1/admin/models/ver/unload`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ version: 1 }),
  })
  assert.equal(unloaded.status, 200)
  const after = (await get(`${url}/metrics`)).text
  assert.doesNotMatch(after, /version="1"/, 'the unloaded version has no series left')
  assert.match(after, /carafe_batch_rows\{model="ver",version="2"\} 3\n/)
})
