/** KServe V2 beside V1 on iris and mlp: JSON tensors and the Binary Tensor Data extension (binary in and out). */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { load, type LoadResult } from './load.js'
import { serveModel } from './serve-model.js'

const CONNECTIONS = 64

/** A V2 request with its one FP32 input as binary data and every output asked back as binary, as tritonclient sends. */
function binaryRequest(row: readonly number[]): Buffer {
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        { name: 'input', shape: [1, row.length], datatype: 'FP32', parameters: { binary_data_size: row.length * 4 } },
      ],
      parameters: { binary_data_output: true },
    }),
  )
  const data = Buffer.alloc(row.length * 4)
  row.forEach((x, i) => {
    data.writeFloatLE(x, i * 4)
  })
  return Buffer.concat([header, data])
}

export async function benchV2(
  models: [string, readonly number[]][],
  modelPath: (name: string) => string,
  seconds: number,
  record: (name: string, r: LoadResult) => LoadResult,
): Promise<Record<string, LoadResult>> {
  const dir = mkdtempSync(join(tmpdir(), 'carafe-bench-v2-'))
  const results: Record<string, LoadResult> = {}
  try {
    for (const [name, row] of models) {
      const server = await serveModel(modelPath(name), { maxSize: 64, maxDelayMs: 2 })
      const { url } = server
      const json = { inputs: [{ name: 'input', shape: [1, row.length], datatype: 'FP32', data: row }] }
      const body = binaryRequest(row)
      const file = join(dir, `${name}.bin`)
      writeFileSync(file, body)
      const headerLength = body.length - row.length * 4
      const key = (what: string) => `${name} c=${CONNECTIONS} ${what}`
      results[key('v1')] = record(
        `carafe ${key('v1 :predict')}`,
        await load(`${url}/v1/models/${name}:predict`, { instances: [row] }, CONNECTIONS, seconds),
      )
      results[key('v2 json')] = record(
        `carafe ${key('v2 infer JSON')}`,
        await load(`${url}/v2/models/${name}/infer`, json, CONNECTIONS, seconds),
      )
      results[key('v2 binary')] = record(
        `carafe ${key('v2 infer binary')}`,
        await load(`${url}/v2/models/${name}/infer`, undefined, CONNECTIONS, seconds, {
          file,
          headers: {
            'content-type': 'application/octet-stream',
            'inference-header-content-length': String(headerLength),
          },
        }),
      )
      await server.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return results
}
