import assert from 'node:assert/strict'
import { test } from 'node:test'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EmbeddedJobStore } from '../../src/jobs/index.js'
import { jobStoreContract } from '../contracts/job-store.js'

jobStoreContract('embedded', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'carafe-jobs-'))
  return {
    open: () => EmbeddedJobStore.open({ dir, concurrency: 4, retentionMs: 60_000 }),
    remove: () => rm(dir, { recursive: true, force: true }),
  }
})

test('finished jobs past their retention are removed; queued ones stay', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'carafe-jobs-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const first = await EmbeddedJobStore.open({ dir, concurrency: 1, retentionMs: 0 })
  first.start(async () => ['done'])
  const finished = await first.submit({ model: 'm', instances: [1] })
  for (let i = 0; i < 500 && (await first.get(finished.id))?.status !== 'succeeded'; i++)
    await new Promise((r) => setTimeout(r, 5))
  await first.close()
  const second = await EmbeddedJobStore.open({ dir, concurrency: 1, retentionMs: 0 })
  const waiting = await second.submit({ model: 'm', instances: [2] })
  await second.close()
  const third = await EmbeddedJobStore.open({ dir, concurrency: 1, retentionMs: 0 })
  t.after(() => third.close())
  assert.equal(await third.get(finished.id), undefined)
  assert.equal((await third.get(waiting.id))?.status, 'queued')
})
