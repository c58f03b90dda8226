import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { loadConfig } from '../src/config/index.js'
import { createCarafe, loadAll } from '../src/http/index.js'

const JOBS = 2000
const CLIENTS = 32
const POLL_MS = 5
const IRIS = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'examples', 'iris')

/** 2,000 iris jobs, 32 clients each submit → poll every 5 ms → next; prints jobs/s and p50/p99 completion. */
export async function benchJobs(): Promise<void> {
  const rows = [await benchEmbedded()]
  console.log('\njobs (2,000 iris jobs, 32 clients, poll every 5 ms)')
  console.table(rows)
  console.log('redis store: not built yet (see the jobs issue)')
}

async function benchEmbedded() {
  const dataDir = await mkdtemp(join(tmpdir(), 'carafe-bench-jobs-'))
  const config = loadConfig({ flags: { port: 0, dataDir, logLevel: 'silent' } })
  const carafe = await createCarafe({ descriptors: await loadAll([IRIS]), config, logger: pino({ level: 'silent' }) })
  const url = await carafe.listen()
  await carafe.started
  try {
    return { store: 'embedded (fsync group commit)', ...(await drive(url)) }
  } finally {
    await carafe.close()
    await rm(dataDir, { recursive: true, force: true })
  }
}

async function drive(url: string) {
  const times: number[] = []
  let next = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (next < JOBS) {
      next++
      const t0 = performance.now()
      const submit = await fetch(`${url}/v1/models/iris/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: [[5.1, 3.5, 1.4, 0.2]] }) })
      const { id } = await submit.json() as { id: string }
      for (;;) {
        const job = await (await fetch(`${url}/v1/jobs/${id}`)).json() as { status: string }
        if (job.status === 'succeeded') break
        if (job.status !== 'queued' && job.status !== 'running') throw new Error(`job ${id} ended ${job.status}`)
        await new Promise((resolve) => setTimeout(resolve, POLL_MS))
      }
      times.push(performance.now() - t0)
    }
  }))
  const seconds = (performance.now() - started) / 1000
  times.sort((a, b) => a - b)
  const pct = (p: number) => Math.round(times[Math.min(times.length - 1, Math.floor(p * times.length))] * 10) / 10
  return { jobs: times.length, 'jobs/s': Math.round(times.length / seconds), 'p50 ms': pct(0.5), 'p99 ms': pct(0.99) }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchJobs()
