import assert from 'node:assert/strict'
import { readFileSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { test } from 'node:test'
import { EmbeddedJobStore, isFinal, type JobRecord, type JobStore } from '../../src/jobs/index.js'

const SLACK = 1 << 20 // the store's compaction slack (COMPACT_SLACK_BYTES): logs smaller than this are never rewritten

/** What the log holds once compacted, computed from the file itself: the last line per id, finished jobs without input. */
function liveBytesOf(path: string): { live: number; jobs: Map<string, JobRecord> } {
  const jobs = new Map<string, JobRecord>()
  for (const text of readFileSync(path, 'utf8').split('\n')) {
    if (!text) continue
    const entry = JSON.parse(text)
    if ('removed' in entry) jobs.delete(entry.removed)
    else jobs.set(entry.id, { ...entry, instances: entry.instances ?? jobs.get(entry.id)?.instances })
  }
  let live = 0
  for (const job of jobs.values()) {
    const { instances, ...rest } = job
    live += Buffer.byteLength(JSON.stringify(isFinal(job.status) ? rest : { ...rest, instances })) + 1
  }
  return { live, jobs }
}

const until = async (what: string, check: () => boolean, ms = 120_000) => {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

async function dir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const path = await mkdtemp(join(tmpdir(), 'carafe-joblog-bound-'))
  t.after(() => rm(path, { recursive: true, force: true }))
  return path
}

test('20,000 jobs: the log stays under 2 × the live data + 1 MiB while they run, and every job is there after a restart', async (t) => {
  const JOBS = 20_000
  const path = await dir(t)
  const log = join(path, 'jobs.jsonl')
  const open = () => EmbeddedJobStore.open({ dir: path, concurrency: 64, retentionMs: 3_600_000 })
  const store = await open()
  store.start(async (job) => [(job.instances[0] as number) * 2])
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()
  let worst = 0
  let written = 0
  const ids: string[] = []
  for (let wave = 0; wave < JOBS / 500; wave++) {
    const submitted = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        store.submit({ model: 'm', instances: [wave * 500 + i, 'padding'.repeat(20)] }),
      ),
    )
    ids.push(...submitted.map((job) => job.id))
    const { size, live } = store.logStats
    worst = Math.max(worst, size - 2 * live)
    written += 500
  }
  await until('every job done', () => store.stats('m').counts.succeeded === JOBS)
  await until('the last writes and any compaction to end', () => !store.logStats.busy)
  delay.disable()
  const stats = store.logStats
  await store.close()
  const size = statSync(log).size
  const { live, jobs } = liveBytesOf(log)
  console.log(
    `20,000 jobs: log ${(size / 1e6).toFixed(2)} MB, live ${(live / 1e6).toFixed(2)} MB, ${stats.compactions} compactions, ` +
      `worst size − 2 × live while running ${(worst / 1e6).toFixed(2)} MB, event loop delay max ${(delay.max / 1e6).toFixed(1)} ms`,
  )
  assert.ok(stats.compactions > 0, 'compacted while running')
  assert.ok(size <= 2 * live + SLACK, `log ${size} B > 2 × live ${live} B + 1 MiB`)
  assert.ok(worst <= SLACK + 2 * SLACK, `while running the log went ${worst} B past 2 × live`) // + what a compaction pass copies
  assert.equal(jobs.size, JOBS)

  const started = performance.now()
  const again: JobStore = await open()
  console.log(`re-open after 20,000 jobs: ${(performance.now() - started).toFixed(0)} ms`)
  t.after(() => again.close())
  assert.equal(again.stats('m').counts.succeeded, JOBS)
  for (const [i, id] of ids.entries()) {
    const job = await again.get(id)
    assert.deepEqual(job?.result, [i * 2], `job ${i}`)
  }
  assert.equal(written, JOBS)
})

test('56 jobs of 5 MB: the log ends under 2 × the live data + 1 MiB and re-opens with every job', async (t) => {
  const path = await dir(t)
  const log = join(path, 'jobs.jsonl')
  const open = () => EmbeddedJobStore.open({ dir: path, concurrency: 4, retentionMs: 3_600_000 })
  const store = await open()
  store.start(async (job) => [(job.instances[0] as string).length])
  const big = 'x'.repeat(5_000_000) // one string shared by every job: the log still holds 5 MB per submit
  const ids: string[] = []
  for (let i = 0; i < 56; i++) ids.push((await store.submit({ model: 'm', instances: [big, i] })).id)
  await until('every job done', () => store.stats('m').counts.succeeded === 56)
  await until('the last writes and any compaction to end', () => !store.logStats.busy)
  await store.close()
  const size = statSync(log).size
  const { live } = liveBytesOf(log)
  console.log(`56 × 5 MB jobs: log ${(size / 1e6).toFixed(2)} MB, live ${(live / 1e3).toFixed(1)} kB`)
  assert.ok(size <= 2 * live + SLACK, `log ${size} B > 2 × live ${live} B + 1 MiB`)
  const again = await open()
  t.after(() => again.close())
  for (const id of ids) assert.deepEqual((await again.get(id))?.result, [5_000_000])
})
