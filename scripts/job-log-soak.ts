// The embedded job log under sizes too heavy for `npm test`: `npm run soak:job-log [-- --jobs 200000]`.
// 1. A log past 512 MB (what 2,700 image jobs of 100 kB left before final lines dropped their instances): it re-opens.
// 2. Many small jobs through the store: the log stays under 2 × live + 1 MiB; the re-open time is printed.
import { once } from 'node:events'
import { createWriteStream, readFileSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { EmbeddedJobStore } from '../src/jobs/index.js'

const { values } = parseArgs({ options: { jobs: { type: 'string', default: '200000' } } })
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`

async function bigLog(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'carafe-soak-'))
  try {
    const path = join(dir, 'jobs.jsonl')
    const out = createWriteStream(path)
    const image = 'i'.repeat(100_000)
    const createdAt = new Date().toISOString()
    for (let i = 0; i < 2_700; i++) {
      const job = { id: `job-${i}`, model: 'm', instances: [image], progress: 0, createdAt, attempts: 1 }
      if (!out.write(`${JSON.stringify({ ...job, status: 'queued' })}\n`)) await once(out, 'drain')
      const final = { ...job, status: 'succeeded', progress: 1, result: [i], finishedAt: createdAt }
      if (!out.write(`${JSON.stringify(final)}\n`)) await once(out, 'drain')
    }
    out.end()
    await once(out, 'finish')
    const before = statSync(path).size
    let whole = 'read whole: ok'
    try {
      readFileSync(path, 'utf8')
    } catch (error) {
      whole = `read whole (as before): ${(error as NodeJS.ErrnoException).code}`
    }
    const started = performance.now()
    const store = await EmbeddedJobStore.open({ dir, concurrency: 1, retentionMs: 3_600_000 })
    const ms = performance.now() - started
    const jobs = store.stats('m').counts.succeeded
    await store.close()
    console.log(
      `log past 512 MB: ${mb(before)} with 2,700 jobs of 100 kB; ${whole}; streamed open ${ms.toFixed(0)} ms, ` +
        `${jobs} jobs, log after ${mb(statSync(path).size)}`,
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function manyJobs(count: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'carafe-soak-'))
  try {
    const open = () => EmbeddedJobStore.open({ dir, concurrency: 64, retentionMs: 3_600_000 })
    const store = await open()
    store.start(async (job) => [(job.instances[0] as number) * 2])
    let worst = 0
    const started = performance.now()
    for (let wave = 0; wave < count / 1000; wave++) {
      await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          store.submit({ model: 'm', instances: [wave * 1000 + i, 'p'.repeat(200)] }),
        ),
      )
      const { size, live } = store.logStats
      worst = Math.max(worst, size / Math.max(live, 1))
    }
    while (store.stats('m').counts.succeeded < count || store.logStats.busy)
      await new Promise((resolve) => setTimeout(resolve, 20))
    const seconds = (performance.now() - started) / 1000
    const { size, live, compactions } = store.logStats
    await store.close()
    const t0 = performance.now()
    const again = await open()
    const reopen = performance.now() - t0
    const found = again.stats('m').counts.succeeded
    await again.close()
    console.log(
      `${count} jobs in ${seconds.toFixed(1)} s (${(count / seconds).toFixed(0)}/s): log ${mb(size)} for ${mb(live)} live, ` +
        `${compactions} compactions, worst size/live between waves ${worst.toFixed(2)}; re-open ${reopen.toFixed(0)} ms with ${found} jobs`,
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

await bigLog()
await manyJobs(Number(values.jobs))
