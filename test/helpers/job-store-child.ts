// An embedded job store in a process of its own, for tests that kill it or cap its file size. Does nothing without args.
import { appendFileSync, statSync, writeSync } from 'node:fs'
import { EmbeddedJobStore } from '../../src/jobs/index.js'

const [mode, dir, arg] = process.argv.slice(2)
const say = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`)
const outcome = (promise: Promise<{ id: string }>) =>
  promise.then(
    (job) => ({ ok: true, id: job.id }),
    (error: NodeJS.ErrnoException) => ({ ok: false, code: error.code, message: error.message }),
  )

if (mode === 'torn') {
  // run under `ulimit -f`: the big submit crosses the limit (a short write, then EFBIG)
  const store = await EmbeddedJobStore.open({ dir: dir!, concurrency: 1, retentionMs: 3_600_000 })
  const before = await outcome(store.submit({ model: 'm', instances: ['before'] }))
  const big = await outcome(store.submit({ model: 'm', instances: ['x'.repeat(Number(arg))] }))
  const after = await outcome(store.submit({ model: 'm', instances: ['after'] }))
  say({ before, big, after, queued: store.stats('m').queueDepth })
  await store.close()
} else if (mode === 'torn-running') {
  // as torn, with jobs taken as they come: each job starts with its submit, so its start line shares the failed write
  const store = await EmbeddedJobStore.open({ dir: dir!, concurrency: 4, retentionMs: 3_600_000 })
  store.start(async (job) => {
    appendFileSync(`${dir}/executions`, `${String(job.instances[0]).slice(0, 10)}\n`)
    return ['done']
  })
  const before = await outcome(store.submit({ model: 'm', instances: ['before'] }))
  const big = await outcome(store.submit({ model: 'm', instances: ['x'.repeat(Number(arg))] }))
  const after = await outcome(store.submit({ model: 'm', instances: ['after'] }))
  await new Promise((resolve) => setTimeout(resolve, 200)) // the runs of before and after finish
  say({ before, big, after })
  await store.close()
} else if (mode === 'crash') {
  // arg: the job id to look at, or "submit"; each run appends the id to <dir>/executions before it dies
  const store = await EmbeddedJobStore.open({
    dir: dir!,
    concurrency: 1,
    retentionMs: 3_600_000,
    maxAttempts: Number(process.env.MAX_ATTEMPTS),
  })
  const id = arg === 'submit' ? (await store.submit({ model: 'm', instances: ['crash'] })).id : arg!
  const job = await store.get(id)
  say({ id, status: job?.status, error: job?.error, attempts: job?.attempts })
  if (job?.status === 'queued') {
    store.start(async (running) => {
      appendFileSync(`${dir}/executions`, `${running.id}\n`)
      process.kill(process.pid, 'SIGKILL') // a job that takes the whole process down
      return []
    })
  } else await store.close()
} else if (mode === 'compact-kill') {
  // 40 queued jobs of 1 MB, 30 of them canceled: the log passes 2 × live and compacts; submits go on meanwhile, and
  // the process SIGKILLs itself once the compaction's temp file holds a few MB. Acknowledged ids go to stdout first.
  const store = await EmbeddedJobStore.open({ dir: dir!, concurrency: 1, retentionMs: 3_600_000, compactSlackBytes: 0 })
  const mb = 'y'.repeat(1_000_000)
  const ids: string[] = []
  for (let i = 0; i < 40; i++) ids.push((await store.submit({ model: 'm', instances: [mb, i] })).id)
  const tmp = `${dir}/jobs.jsonl.compacting`
  setInterval(() => {
    const size = (() => {
      try {
        return statSync(tmp).size
      } catch {
        return 0
      }
    })()
    if (size > 10_000_000) {
      writeSync(1, `${JSON.stringify({ killedAt: size })}\n`)
      process.kill(process.pid, 'SIGKILL')
    }
  }, 1)
  writeSync(1, `${JSON.stringify({ queued: ids })}\n`)
  for (const id of ids.slice(10)) {
    await store.cancel(id)
    writeSync(1, `${JSON.stringify({ canceled: id })}\n`)
  }
  for (let i = 0; ; i++) {
    const job = await store.submit({ model: 'm', instances: [mb, `during-${i}`] })
    writeSync(1, `${JSON.stringify({ acked: job.id })}\n`)
  }
}
