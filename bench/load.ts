import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

export interface LoadResult {
  requests: number
  p50: number
  p99: number
  errors: number
}

const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon/autocannon.js')
const RAW = fileURLToPath(new URL('./autocannon-raw.js', import.meta.url))

/** A body autocannon reads from a file (binary bodies cannot pass as an argument), with its own headers. */
export interface RawBody {
  file: string
  headers: Record<string, string>
}

/** Run autocannon in its own process against 127.0.0.1 so the load generator does not share our event loop. */
export function load(
  url: string,
  body: unknown,
  connections: number,
  seconds: number,
  raw?: RawBody,
): Promise<LoadResult> {
  const args = raw
    ? [RAW, url, String(connections), String(seconds), raw.file, JSON.stringify(raw.headers)]
    : [
        AUTOCANNON,
        '-c',
        String(connections),
        '-d',
        String(seconds),
        '--json',
        '-m',
        'POST',
        '-H',
        'content-type=application/json',
        '-b',
        JSON.stringify(body),
        url,
      ]
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] })
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.on('exit', (code) => {
      try {
        const r = JSON.parse(out)
        resolve({ requests: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx })
      } catch {
        reject(new Error(`autocannon exited ${code} without a result`))
      }
    })
  })
}
