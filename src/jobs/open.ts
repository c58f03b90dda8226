import { resolve } from 'node:path'
import type { Config } from '../config/index.js'
import { EmbeddedJobStore } from './embedded.js'
import { RedisJobStore } from './redis.js'
import type { JobsLog } from './redis-health.js'
import type { JobFinished, JobStore } from './store.js'
import { deliverWebhook } from './webhook.js'

/** The store the config names: 'embedded' (the default) keeps jobs under dataDir. */
export async function openJobStore(config: Readonly<Config>, log?: JobsLog): Promise<JobStore> {
  // delivery runs in the background; a server restart mid-retry does not resend (at-most-once after the first try)
  const onFinished: JobFinished = (job) => {
    if (job.webhook && config.webhookSecret) void deliverWebhook(job, config.webhookSecret, log)
  }
  if (config.jobs === 'embedded') {
    return EmbeddedJobStore.open({
      dir: resolve(config.dataDir, 'jobs'),
      concurrency: config.jobConcurrency,
      retentionMs: config.jobRetentionMs,
      maxAttempts: config.jobMaxAttempts,
      onFinished,
      log,
    })
  }
  if (config.jobs.startsWith('redis://')) {
    return RedisJobStore.open({
      url: config.jobs,
      concurrency: config.jobConcurrency,
      retentionMs: config.jobRetentionMs,
      onFinished,
      log,
    })
  }
  throw new Error(
    `config: jobs must be "embedded" or a redis:// URL (got ${JSON.stringify(config.jobs)}); e.g. redis://127.0.0.1:6379`,
  )
}
