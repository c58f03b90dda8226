import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createServer, type RequestListener } from 'node:http'
import { connect as connectHttp2 } from 'node:http2'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { it } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import {
  depthBombs,
  type HostileCall,
  hostileRequests,
  multipartFlood,
  unknownNames,
} from '../helpers/hostile-requests.js'
import { example } from '../helpers/paths.js'
import { sendRaw, type RawAnswer } from '../helpers/raw-http.js'
import { selfSignedCert } from '../helpers/tls.js'
import { get, post, startServer } from '../helpers/server.js'

const COUNT = 2_600
const CONCURRENCY = 8
const BODY_LIMIT = 64 * 1024

// a real gc() for the memory check, even without --expose-gc on the command line
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
const heapAfterGc = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

it('answers thousands of malformed requests with 4xx JSON (never 5xx) and stays healthy', {
  timeout: 240_000,
}, async (t) => {
  const server = await startServer(example('iris'), { t, config: { rateLimit: 0, bodyLimit: BODY_LIMIT } })
  const port = Number(new URL(server.url).port)
  const predict = () => post(`${server.url}/v1/models/iris:predict`, { instances: [[5.1, 3.5, 1.4, 0.2]] })
  assert.equal((await predict()).status, 200)
  const heapStart = heapAfterGc()

  const requests = hostileRequests(20261123, COUNT, BODY_LIMIT)
  const counts: Record<string, number> = {}
  const failures: string[] = []
  const check = (kind: string, expect: 'json' | 'parser', answer: RawAnswer) => {
    const key = answer.status === null ? 'closed' : String(answer.status)
    counts[key] = (counts[key] ?? 0) + 1
    const fail = (why: string) => failures.push(`${kind}: ${why}: ${answer.status} ${answer.body.slice(0, 200)}`)
    if (answer.status === null)
      return expect === 'parser' || kind === 'oversizedBody' ? undefined : fail('closed without an answer')
    if (answer.status < 400 || answer.status >= 500) return fail('not a 4xx')
    let body: { error?: { code?: unknown } | string; code?: unknown } | undefined
    try {
      body = JSON.parse(answer.body)
    } catch {
      body = undefined
    }
    // V2 routes answer the protocol's {"error": "<message>", "code"}, the others {"error": {"code", ...}}
    const code = typeof body?.error === 'string' ? body.code : body?.error?.code
    if (typeof code === 'string') counts.envelope = (counts.envelope ?? 0) + 1
    else if (expect === 'json') fail('no {"error":{"code"}} or V2 {"error", "code"} body')
  }
  const worker = async () => {
    for (const { kind, expect, bytes } of requests) check(kind, expect, await sendRaw(port, bytes))
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  console.log(`hostile input: ${COUNT} requests, answers by status: ${JSON.stringify(counts)}`)
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} bad answers`)

  assert.equal((await get(`${server.url}/healthz`)).status, 200)
  assert.equal((await predict()).status, 200)
  // the log lines this test collected are the harness's memory, not the server's
  server.logs.length = 0
  // heap settles back within 20% of the start (a settling loop, not a timing assertion)
  let heapEnd = heapAfterGc()
  for (let i = 0; i < 10 && heapEnd > heapStart * 1.2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 500))
    heapEnd = heapAfterGc()
  }
  console.log(`hostile input: heapUsed after gc ${(heapStart / 1e6).toFixed(1)} MB → ${(heapEnd / 1e6).toFixed(1)} MB`)
  assert.ok(heapEnd <= heapStart * 1.2, `heap grew from ${heapStart} to ${heapEnd}`)
})

// The classes of hostile input found by an attack on the server: each must get a 4xx quickly without growing the
// server. V2 shape bombs: a huge shape[0] with a zero inner dimension (it once froze the event loop for 90 s), a
// shape far past maxInstances, shapes that disagree with the model or with the data, negative and fractional sizes.
const V2_SHAPE_BOMBS: HostileCall[] = [
  [100_000_000, 0],
  [100_000_000, 4],
  [1, 4, 100_000_000, 0],
  [2 ** 53, 0],
  [-1, 4],
  [1.5, 4],
  [1, 5],
].map((shape) => ({
  kind: 'v2ShapeBomb',
  method: 'POST' as const,
  path: '/v2/models/iris/infer',
  body: JSON.stringify({ inputs: [{ name: 'input', shape, datatype: 'FP32', data: [] }] }),
  headers: { 'content-type': 'application/json' },
}))
const UNKNOWN_NAMES = 600

it('hostile classes: depth bombs, multipart totals, HTTP/2 slow streams, redirecting webhooks, unknown-name floods', {
  timeout: 120_000,
}, async (t) => {
  const listen = async (handler: RequestListener) => {
    const receiver = createServer(handler)
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    t.after(() => {
      receiver.closeAllConnections()
      return new Promise((done) => receiver.close(done))
    })
    return (receiver.address() as { port: number }).port
  }
  let relayed = 0
  const outside = await listen((request, response) => {
    relayed++
    request.resume()
    response.end()
  })
  const redirecting = await listen((request, response) => {
    request.resume()
    response.writeHead(307, { location: `http://127.0.0.1:${outside}/steal` }).end()
  })
  const server = await startServer(example('iris'), {
    t,
    config: {
      rateLimit: 0,
      bodyLimit: 1024 * 1024,
      webhookHosts: [`127.0.0.1:${redirecting}`],
      webhookSecret: 'hostile-webhook-secret-0123',
    },
  })
  const tls = selfSignedCert('carafe-hostile-tls-')
  const h2 = await startServer(example('iris'), {
    config: { tlsCert: tls.cert, tlsKey: tls.key, http2: true, requestTimeoutMs: 1000 },
  })
  const port = Number(new URL(server.url).port)
  // the request series of unknown names: the other classes add their own (route, status) series once
  const metricLines = async () => {
    const text = (await get(`${server.url}/metrics`)).text
    assert.doesNotMatch(text, /nope-/, 'an unknown name became a label value')
    return text.split('\n').filter((line) => line.startsWith('carafe_request') && line.includes('"_unknown"')).length
  }

  // the `_unknown` series and the scrape's own exist before the measured flood
  for (const call of unknownNames(8, 1)) await fetch(`${server.url}${call.path}`, call)
  await metricLines()
  const metricsBefore = await metricLines()
  gc()
  const rssBefore = process.memoryUsage().rss
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()

  const statuses: Record<string, number> = {}
  const kinds: Record<string, Record<string, number>> = {}
  let slowest = { ms: 0, kind: '' }
  let cancelledAfter = 0
  const count = (kind: string, status: number | string, ms: number) => {
    statuses[status] = (statuses[status] ?? 0) + 1
    kinds[kind] ??= {}
    kinds[kind][status] = (kinds[kind][status] ?? 0) + 1
    // a stalled HTTP/2 stream gets no answer by design: it is cancelled after requestTimeoutMs
    if (kind === 'http2SlowStream') cancelledAfter = Math.max(cancelledAfter, ms)
    else if (ms > slowest.ms) slowest = { ms, kind }
  }
  const timed = async <T>(run: () => Promise<T>): Promise<[T, number]> => {
    const start = performance.now()
    const value = await run()
    return [value, performance.now() - start]
  }

  // JSON classes through fetch, 8 at a time
  const calls = [...depthBombs('iris'), ...V2_SHAPE_BOMBS, ...unknownNames(UNKNOWN_NAMES, 2)]
  let next = 0
  const worker = async () => {
    while (next < calls.length) {
      const call = calls[next++]
      const [status, ms] = await timed(async () => {
        const response = await fetch(`${server.url}${call.path}`, call)
        await response.arrayBuffer()
        return response.status
      })
      count(call.kind, status, ms)
    }
  }
  // multipart forms of 2 MB against a 1 MB bodyLimit, streamed and never finished
  const multipart = async () => {
    for (let i = 0; i < 4; i++) {
      const [answer, ms] = await timed(() => sendRaw(port, multipartFlood('/v1/models/iris:predict', 8, 256 * 1024)))
      count('multipartTotal', answer.status ?? 'closed', ms)
    }
  }
  // jobs whose webhook host redirects elsewhere
  const webhooks = async () => {
    for (let i = 0; i < 4; i++) {
      const [answer, ms] = await timed(() =>
        post(`${server.url}/v1/models/iris/jobs`, {
          instances: [[5.1, 3.5, 1.4, 0.2]],
          webhook: `http://127.0.0.1:${redirecting}/hook`,
        }),
      )
      count('redirectingWebhook', answer.status, ms)
    }
  }
  // HTTP/2 streams that send half a body and stall: each must be cancelled
  const slowStreams = async () => {
    const session = connectHttp2(h2.url, { ca: readFileSync(tls.cert) })
    const closes = Array.from(
      { length: 20 },
      () =>
        new Promise<void>((resolve) => {
          const started = performance.now()
          const stream = session.request({
            ':method': 'POST',
            ':path': '/v1/models/iris:predict',
            'content-type': 'application/json',
            'content-length': '1000',
          })
          stream.on('error', () => undefined)
          stream.write('{"instances":[[5.1,')
          const timer = setTimeout(() => stream.destroy(), 20_000)
          stream.on('close', () => {
            clearTimeout(timer)
            count(
              'http2SlowStream',
              stream.rstCode === 8 ? 'cancelled' : `rst ${stream.rstCode}`,
              performance.now() - started,
            )
            resolve()
          })
        }),
    )
    await Promise.all(closes)
    session.destroy()
  }
  await Promise.all([...Array.from({ length: 8 }, worker), multipart(), webhooks(), slowStreams()])
  const redirectLogs = () => server.logs.filter((line) => String(line.msg).includes('redirect')).length
  for (let i = 0; i < 500 && redirectLogs() < 4; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  delay.disable()
  const metricsAfter = await metricLines()
  server.logs.length = 0
  h2.logs.length = 0
  gc()
  const rssAfter = process.memoryUsage().rss
  await h2.close()

  const table = [
    ['requests by status', JSON.stringify(statuses)],
    ...Object.entries(kinds).map(([kind, byStatus]) => [`  ${kind}`, JSON.stringify(byStatus)]),
    ['slowest answer', `${slowest.ms.toFixed(0)} ms (${slowest.kind})`],
    ['stalled streams ended', `within ${cancelledAfter.toFixed(0)} ms (requestTimeoutMs 1000)`],
    ['event-loop delay p99', `${(delay.percentile(99) / 1e6).toFixed(1)} ms (max ${(delay.max / 1e6).toFixed(1)} ms)`],
    ['RSS before → after', `${(rssBefore / 1e6).toFixed(0)} MB → ${(rssAfter / 1e6).toFixed(0)} MB`],
    ['/metrics _unknown series', `${metricsBefore} → ${metricsAfter} (after ${UNKNOWN_NAMES} unknown names)`],
    ['webhook bodies relayed', String(relayed)],
  ]
  console.log(table.map(([name, value]) => `hostile classes | ${name.padEnd(24)} | ${value}`).join('\n'))

  const fivexx = Object.keys(statuses).filter((status) => /^5/.test(status))
  assert.deepEqual(fivexx, [], 'no 5xx')
  assert.equal(kinds.depthBomb?.['400'], depthBombs('iris').length, 'every depth bomb is a 400')
  assert.equal(kinds.v2ShapeBomb?.['400'], V2_SHAPE_BOMBS.length, 'every V2 shape bomb is a 400')
  assert.equal(kinds.multipartTotal?.['413'], 4, 'every oversized form is a 413 while it streams')
  assert.equal(kinds.http2SlowStream?.cancelled, 20, 'every stalled HTTP/2 stream is cancelled')
  assert.equal(relayed, 0, 'no webhook body reached a host outside webhookHosts')
  assert.equal(metricsAfter, metricsBefore, '/metrics grew with unknown names')
  // generous: a leak per request would show as hundreds of MB, noise as tens
  assert.ok(rssAfter < rssBefore + 300e6, `RSS grew from ${rssBefore} to ${rssAfter}`)
  assert.equal((await get(`${server.url}/healthz`)).status, 200)
})
