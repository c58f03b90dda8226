import assert from 'node:assert/strict'
import { it } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { hostileRequests } from '../helpers/hostile-requests.js'
import { example } from '../helpers/paths.js'
import { sendRaw, type RawAnswer } from '../helpers/raw-http.js'
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
