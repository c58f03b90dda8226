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
