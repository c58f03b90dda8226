// The job bench's clients, in their own process so they never share the server's event loop (as the sync bench's client
// runs in its own). Each of `clients` loops: submit one iris job → wait for its end → next. How it waits is the mode:
// `poll` (GET every `pollMs`), `wait` (submit with `Prefer: wait=10`: 201 with the finished job, else poll), `sse`
// (GET /v1/jobs/{id}/events until the `done` event). A server without `Prefer: wait` or the event stream is reported as
// `unsupported` rather than measured through a fallback.
// Usage: node dist/bench/job-clients.js <url> <jobs> <clients> <pollMs> [poll|wait|sse]; prints one JSON line.
import { connect, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'

export type JobMode = 'poll' | 'wait' | 'sse'

export interface JobClientsResult {
  jobs: number
  'jobs/s': number
  'p50 ms': number
  'p99 ms': number
  /** Requests per job after the submit (status polls; an event stream or a 202 after Prefer: wait counts one). */
  'gets/job'?: number
  /** Set when the server does not offer this way of waiting (then no figures are given). */
  unsupported?: string
}

interface Answer {
  status: number
  text: string
}

const HEADER_END = Buffer.from('\r\n\r\n')
const CRLF = Buffer.from('\r\n')
const LENGTH = /\r\ncontent-length:\s*(\d+)/i
const CHUNKED = /\r\ntransfer-encoding:\s*chunked/i

/**
 * One keep-alive socket per client, one request at a time, and a minimal response reader (content-length or chunked,
 * the event stream's framing), as the sync bench's client does: node:http's client cost about as much CPU per request
 * as the server's answer, on the same two cores.
 */
class Connection {
  readonly #socket: Socket
  readonly #host: string
  #buffer: Buffer = Buffer.alloc(0)
  #waiting: { resolve: (answer: Answer) => void; reject: (error: Error) => void } | undefined

  constructor(url: URL) {
    this.#host = url.host
    this.#socket = connect(Number(url.port), url.hostname)
    this.#socket.setNoDelay(true)
    this.#socket.on('data', (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk])
      this.#read()
    })
    const fail = (error: Error) => {
      this.#waiting?.reject(error)
      this.#waiting = undefined
    }
    this.#socket.on('error', fail)
    this.#socket.on('close', () => fail(new Error('the server closed the connection')))
  }

  request(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
    const lines = [`${method} ${path} HTTP/1.1`, `host: ${this.#host}`]
    if (body !== undefined) lines.push('content-type: application/json', `content-length: ${Buffer.byteLength(body)}`)
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`)
    this.#socket.write(`${lines.join('\r\n')}\r\n\r\n${body ?? ''}`)
    return new Promise((resolve, reject) => (this.#waiting = { resolve, reject }))
  }

  close(): void {
    this.#socket.destroy()
  }

  /** Answers the waiting request once its whole response is in the buffer. */
  #read(): void {
    const buffer = this.#buffer
    const end = buffer.indexOf(HEADER_END)
    if (end < 0) return
    const head = buffer.toString('latin1', 0, end)
    const start = end + 4
    let text: string
    let next: number
    if (CHUNKED.test(head)) {
      const parts: Buffer[] = []
      let at = start
      for (;;) {
        const lineEnd = buffer.indexOf(CRLF, at)
        if (lineEnd < 0) return
        const size = Number.parseInt(buffer.toString('latin1', at, lineEnd), 16)
        if (buffer.length < lineEnd + 2 + size + 2) return
        if (size === 0) {
          next = lineEnd + 4
          break
        }
        parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size))
        at = lineEnd + 2 + size + 2
      }
      text = Buffer.concat(parts).toString('utf8')
    } else {
      const length = Number(LENGTH.exec(head)?.[1] ?? 0)
      if (buffer.length < start + length) return
      text = buffer.toString('utf8', start, start + length)
      next = start + length
    }
    this.#buffer = buffer.subarray(next)
    const waiting = this.#waiting
    this.#waiting = undefined
    waiting?.resolve({ status: Number(head.slice(9, 12)), text })
  }
}

class Unsupported extends Error {}

let gets = 0

async function poll(conn: Connection, id: string, pollMs: number): Promise<void> {
  for (;;) {
    gets++
    const job = JSON.parse((await conn.request('GET', `/v1/jobs/${id}`)).text)
    if (job.status === 'succeeded') return
    if (job.status !== 'queued' && job.status !== 'running') throw new Error(`job ${id} ended ${job.status}`)
    await new Promise((resolve) => setTimeout(resolve, pollMs))
  }
}

async function oneJob(conn: Connection, body: string, pollMs: number, mode: JobMode): Promise<void> {
  const submit = await conn.request('POST', '/v1/models/iris/jobs', body, mode === 'wait' ? { prefer: 'wait=10' } : {})
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
  if (mode === 'poll') return poll(conn, job.id, pollMs)
  gets++
  const events = await conn.request('GET', `/v1/jobs/${job.id}/events`, undefined, { accept: 'text/event-stream' })
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
  const connections = Array.from({ length: clients }, () => new Connection(new URL(url)))
  const started = performance.now()
  try {
    await Promise.all(
      connections.map(async (conn) => {
        while (next < jobs) {
          next++
          const t0 = performance.now()
          await oneJob(conn, body, pollMs, mode)
          times.push(performance.now() - t0)
        }
      }),
    )
  } catch (error) {
    if (!(error instanceof Unsupported)) throw error
    return { jobs: 0, 'jobs/s': 0, 'p50 ms': 0, 'p99 ms': 0, unsupported: error.message }
  } finally {
    for (const conn of connections) conn.close()
  }
  const seconds = (performance.now() - started) / 1000
  times.sort((a, b) => a - b)
  const pct = (p: number) => Math.round(times[Math.min(times.length - 1, Math.floor(p * times.length))]! * 10) / 10
  return {
    jobs: times.length,
    'jobs/s': Math.round(times.length / seconds),
    'p50 ms': pct(0.5),
    'p99 ms': pct(0.99),
    'gets/job': Math.round((gets / times.length) * 10) / 10,
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [url, jobs, clients, pollMs, mode] = process.argv.slice(2)
  const result = await runJobClients(url!, Number(jobs), Number(clients), Number(pollMs), (mode ?? 'poll') as JobMode)
  console.log(JSON.stringify(result))
}
