import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ClientResult } from './http-client.js'

export type LoadResult = ClientResult

const CLIENT = fileURLToPath(new URL('./http-client.js', import.meta.url))

/** A body the client reads from a file (binary bodies cannot pass as an argument), with its own headers. */
export interface RawBody {
  file: string
  headers: Record<string, string>
}

/** Run the load client (bench/http-client.ts) in its own process against 127.0.0.1, so it does not share our event loop. */
export function load(
  url: string,
  body: unknown,
  connections: number,
  seconds: number,
  raw?: RawBody,
): Promise<LoadResult> {
  const dir = raw ? undefined : mkdtempSync(join(tmpdir(), 'carafe-bench-'))
  const file = raw?.file ?? join(dir!, 'body.json')
  if (!raw) writeFileSync(file, JSON.stringify(body))
  const headers = raw?.headers ?? { 'content-type': 'application/json' }
  return new Promise<LoadResult>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [CLIENT, url, String(connections), String(seconds), file, JSON.stringify(headers)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.on('exit', (code) => {
      try {
        resolve(JSON.parse(out) as LoadResult)
      } catch {
        reject(new Error(`the load client exited ${code} without a result`))
      }
    })
  }).finally(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  })
}
