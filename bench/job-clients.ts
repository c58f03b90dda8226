// The job bench's clients, in their own process so they never share the server's event loop (as the sync bench's client
// runs in its own). Each of `clients` loops: submit one iris job → wait for its end → next. How it waits is the mode:
// `poll` (GET every `pollMs`), `wait` (submit with `Prefer: wait=10`: 201 with the finished job, else poll), `sse`
// (GET /v1/jobs/{id}/events until the `done` event). A server without `Prefer: wait` or the event stream is reported as
// `unsupported` rather than measured through a fallback.
// Usage: node dist/bench/job-clients.js <url> <jobs> <clients> <pollMs> [poll|wait|sse]; prints one JSON line.
import { Agent, request } from 'node:http'
import { fileURLToPath } from 'node:url'

export type JobMode = 'poll' | 'wait' | 'sse'

export interface JobClientsResult {
  jobs: number
  'jobs/s': number
  'p50 ms': number
  'p99 ms': number
  /** Set when the server does not offer this way of waiting (then no figures are given). */
  unsupported?: string
}

const agent = new Agent({ keepAlive: true, maxSockets: 256 })

interface Answer {
  status: number
  text: string
}

function call(url: string, method: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent,
        headers: body
          ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers }
          : headers,
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk) => (text += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

class Unsupported extends Error {}

async function poll(url: string, id: string, pollMs: number): Promise<void> {
  for (;;) {
    const job = JSON.parse((await call(`${url}/v1/jobs/${id}`, 'GET')).text)
    if (job.status === 'succeeded') return
    if (job.status !== 'queued' && job.status !== 'running') throw new Error(`job ${id} ended ${job.status}`)
    await new Promise((resolve) => setTimeout(resolve, pollMs))
  }
}

async function oneJob(url: string, body: string, pollMs: number, mode: JobMode): Promise<void> {
  const submit = await call(`${url}/v1/models/iris/jobs`, 'POST', body, mode === 'wait' ? { prefer: 'wait=10' } : {})
  const job = JSON.parse(submit.text)
  if (mode === 'wait') {
    if (submit.status === 201) {
      if (job.status !== 'succeeded') throw new Error(`job ${job.id} ended ${job.status}`)
      return
    }
    // 202 after waiting 10 s would be a slow job; 202 without a Preference-Applied header is a server without it
    if (submit.status === 202) throw new Unsupported('the server answered 202 to Prefer: wait=10 (no Prefer: wait)')
  }
  if (submit.status !== 202) throw new Error(`submit answered ${submit.status}: ${submit.text}`)
  if (mode === 'poll') return poll(url, job.id, pollMs)
  const events = await call(`${url}/v1/jobs/${job.id}/events`, 'GET', undefined, { accept: 'text/event-stream' })
  if (events.status === 404 && !events.text.includes('JOB_NOT_FOUND'))
    throw new Unsupported('GET /v1/jobs/{id}/events answered 404 (no event stream)')
  const done = /event: done\n(?:id: [^\n]*\n)?data: (.*)\n/.exec(events.text)
  if (!done) throw new Error(`event stream of job ${job.id} ended without a done event (${events.status})`)
  if (JSON.parse(done[1]!).status !== 'succeeded') throw new Error(`job ${job.id} did not succeed`)
}

export async function runJobClients(
  url: string,
  jobs: number,
  clients: number,
  pollMs: number,
  mode: JobMode = 'poll',
): Promise<JobClientsResult> {
  const times: number[] = []
  const body = JSON.stringify({ instances: [[5.1, 3.5, 1.4, 0.2]] })
  let next = 0
  const started = performance.now()
  try {
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < jobs) {
          next++
          const t0 = performance.now()
          await oneJob(url, body, pollMs, mode)
          times.push(performance.now() - t0)
        }
      }),
    )
  } catch (error) {
    if (!(error instanceof Unsupported)) throw error
    agent.destroy()
    return { jobs: 0, 'jobs/s': 0, 'p50 ms': 0, 'p99 ms': 0, unsupported: error.message }
  }
  const seconds = (performance.now() - started) / 1000
  times.sort((a, b) => a - b)
  const pct = (p: number) => Math.round(times[Math.min(times.length - 1, Math.floor(p * times.length))]! * 10) / 10
  agent.destroy()
  return { jobs: times.length, 'jobs/s': Math.round(times.length / seconds), 'p50 ms': pct(0.5), 'p99 ms': pct(0.99) }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [url, jobs, clients, pollMs, mode] = process.argv.slice(2)
  const result = await runJobClients(url!, Number(jobs), Number(clients), Number(pollMs), (mode ?? 'poll') as JobMode)
  console.log(JSON.stringify(result))
}
