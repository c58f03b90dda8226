/** images/s for the text-detection example over HTTP at 1, 4 and 16 connections, beside raw onnxruntime-node on the same image. */

import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { dirname, join } from 'node:path'
import ort from 'onnxruntime-node'
import { pino } from 'pino'
import sharp from 'sharp'
import { loadConfig } from '../src/config/index.js'
import { createCarafe, loadAll } from '../src/http/index.js'
import { ppOcrV4Paths } from '../examples/ocr-lib/models.js'
import { detect } from '../examples/ocr-lib/pipeline.js'

// [compat] autocannon ships no types; only this call shape is used.
type Autocannon = (
  options: Record<string, unknown>,
) => Promise<{ requests: { average: number }; latency: { p50: number; p99: number }; non2xx: number; errors: number }>
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const CONNECTIONS = [1, 4, 16]

/** The page the integration tests read: three lines of DejaVu Sans on 640 x 240. */
async function benchPage(): Promise<Buffer> {
  const lines = ['HELLO CARAFE 2026', 'model server 42', 'Quick brown fox']
  const body = lines
    .map((text, i) => `<text x="40" y="${60 + 70 * i}" font-family="DejaVu Sans" font-size="36">${text}</text>`)
    .join('')
  return sharp(
    Buffer.from(
      `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="240"><rect width="100%" height="100%" fill="white"/>${body}</svg>`,
    ),
  )
    .png()
    .toBuffer()
}

/** Decode, pre-process, run and post-process in this thread, one image after another: the floor any server adds to. */
async function rawImagesPerSecond(page: Buffer): Promise<number> {
  const session = await ort.InferenceSession.create((await ppOcrV4Paths()).detectionPath, {
    graphOptimizationLevel: 'all',
  })
  await detect(page, session) // warm-up
  let count = 0
  const started = performance.now()
  while (performance.now() - started < SECONDS * 1000) {
    await detect(page, session)
    count++
  }
  const rate = count / ((performance.now() - started) / 1000)
  await session.release()
  return rate
}

export async function benchImages(): Promise<void> {
  const page = await benchPage()
  const raw = await rawImagesPerSecond(page)
  // error level: autocannon hangs up on in-flight requests at the end of each row, and those refusals are expected
  const config = loadConfig({ flags: { port: 0, logLevel: 'error' } })
  const carafe = await createCarafe({
    descriptors: await loadAll([join(ROOT, 'examples', 'text-detection')]),
    config,
    logger: pino({ level: 'error' }),
  })
  const url = await carafe.listen()
  await carafe.started
  const rows: string[] = [`raw onnxruntime-node (in-process, sequential)  ${raw.toFixed(1)} images/s`]
  try {
    const body = JSON.stringify({ instances: [{ image: page.toString('base64') }] })
    for (const connections of CONNECTIONS) {
      const result = await autocannon({
        url: `${url}/v1/models/text-detection:predict`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        connections,
        duration: SECONDS,
      })
      const failed = result.non2xx + result.errors
      rows.push(
        `carafe text-detection, ${String(connections).padStart(2)} connections   ${result.requests.average.toFixed(1)} images/s  p50 ${result.latency.p50} ms  p99 ${result.latency.p99} ms${failed ? `  (${failed} failed)` : ''}`,
      )
    }
  } finally {
    await carafe.close()
  }
  console.log(
    `\ntext-detection (PP-OCRv4 det, 640x240 PNG, ${(page.length / 1024).toFixed(1)} kB, ${SECONDS} s per row)`,
  )
  for (const row of rows) console.log(`  ${row}`)
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await benchImages()
