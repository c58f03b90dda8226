import { resolve } from 'node:path'
import type { Config } from '../config/index.js'
import { EmbeddedJobStore } from './embedded.js'
import type { JobFinished, JobStore } from './store.js'

/** The store the config names: 'embedded' (the default) keeps jobs under dataDir. */
export async function openJobStore(config: Readonly<Config>, onFinished?: JobFinished): Promise<JobStore> {
  if (config.jobs === 'embedded') {
    return EmbeddedJobStore.open({ dir: resolve(config.dataDir, 'jobs'), concurrency: config.jobConcurrency, retentionMs: config.jobRetentionMs, onFinished })
  }
  throw new Error(`config: jobs must be "embedded" (got ${JSON.stringify(config.jobs)}); the redis store is not built yet`)
}
