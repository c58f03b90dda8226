// The sync bench's load generator, in its own process so it never shares the server's event loop. `connections` keep-alive
// sockets each send one request, wait for its whole answer, and send the next, for `seconds`. Each latency is taken with
// process.hrtime.bigint() around the round trip, so it is in µs (autocannon's histogram keeps whole milliseconds, too coarse
// for "added latency over the floor" at one connection). Raw sockets and a minimal response reader keep the client cheap.
// Usage: node dist/bench/http-client.js <url> <connections> <seconds> <body file> <headers json>; prints one JSON line.
import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'

export interface ClientResult {
  /** Answers per second over the whole run. */
  requests: number
  p50Us: number
  p99Us: number
  /** Answers that were not 2xx, and sockets that failed. */
  errors: number
  /** Every answer, the warm-up's included (to divide server-side counters by). */
  answered: number
}

const HEADER_END = Buffer.from('\r\n\r\n')
const LENGTH = /\r\ncontent-length:\s*(\d+)/i

export async function runClient(
  url: string,
  connections: number,
  seconds: number,
  body: Buffer,
  headers: Record<string, string>,
): Promise<ClientResult> {
  const { hostname, port, pathname, search } = new URL(url)
  const head = [
    `POST ${pathname}${search} HTTP/1.1`,
    `host: ${hostname}:${port}`,
    'connection: keep-alive',
    `content-length: ${body.length}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    '',
    '',
  ].join('\r\n')
  const request = Buffer.concat([Buffer.from(head), body])
  const latencies: number[] = []
  let errors = 0
  let answered = 0
  // a short warm-up (JIT, first batches) that is not counted
  const warmUntil = performance.now() + Math.min(1000, seconds * 100)
  const until = warmUntil + seconds * 1000
  let counted = 0
  let countedFrom = 0n
  let countedTo = 0n
  const one = () =>
    new Promise<void>((done) => {
      const socket: Socket = connect(Number(port), hostname)
      socket.setNoDelay(true)
      let buffer: Buffer = Buffer.alloc(0)
      let sentAt = 0n
      const send = () => {
        if (performance.now() >= until) {
          socket.end()
          return done()
        }
        sentAt = process.hrtime.bigint()
        socket.write(request)
      }
      socket.on('connect', send)
      socket.on('error', () => {
        errors++
        done()
      })
      socket.on('data', (chunk: Buffer) => {
        buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk])
        const end = buffer.indexOf(HEADER_END)
        if (end < 0) return
        const headText = buffer.toString('latin1', 0, end)
        const length = Number(LENGTH.exec(headText)?.[1] ?? 0)
        if (buffer.length < end + 4 + length) return
        const now = process.hrtime.bigint()
        const status = Number(headText.slice(9, 12))
        answered++
        buffer = buffer.subarray(end + 4 + length)
        if (performance.now() >= warmUntil) {
          if (counted === 0) countedFrom = sentAt
          counted++
          countedTo = now
          latencies.push(Number(now - sentAt) / 1000)
          if (status < 200 || status > 299) errors++
        }
        send()
      })
    })
  await Promise.all(Array.from({ length: connections }, one))
  latencies.sort((a, b) => a - b)
  const pct = (p: number) =>
    latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : 0
  const elapsedS = Number(countedTo - countedFrom) / 1e9
  return { requests: elapsedS > 0 ? counted / elapsedS : 0, p50Us: pct(0.5), p99Us: pct(0.99), errors, answered }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [url, connections, seconds, file, headers] = process.argv.slice(2)
  const result = await runClient(url!, Number(connections), Number(seconds), readFileSync(file!), JSON.parse(headers!))
  process.stdout.write(JSON.stringify(result))
}
