import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { fixture } from '../helpers/paths.js'
import { post, startServer } from '../helpers/server.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

function heapAfterGc(): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

test('a model queue keeps no request it has handed to a runner: 30 queued inputs of 1 MB, once served, leave the heap as it was', async (t) => {
  const { url } = await startServer(join(fixture('handlers'), 'records-runs.ts'), { t })
  const path = `${url}/v1/models/records-runs:predict`
  assert.equal((await post(path, { instances: [{ tag: 'warm' }] })).status, 200)
  const before = heapAfterGc()
  // sent at once to a model that runs one at a time for 20 ms each: all but the first wait in the queue
  const answers = await Promise.all(
    Array.from({ length: 30 }, (_, i) => post(path, { instances: [{ tag: `${i}`.padEnd(1 << 20, 'x'), ms: 20 }] })),
  )
  for (const answer of answers) assert.equal(answer.status, 200, answer.text)
  answers.length = 0
  const grown = (heapAfterGc() - before) / 2 ** 20
  // with the taken inputs kept, the main thread's heap holds ~30 MB more; without, a few MB at most
  assert.ok(grown < 15, `the heap grew by ${grown.toFixed(1)} MB after 30 queued requests of 1 MB`)
})
