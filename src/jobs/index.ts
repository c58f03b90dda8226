export { EmbeddedJobStore, type EmbeddedOptions } from './embedded.js'
export { openJobStore } from './open.js'
export { RedisJobStore, type RedisOptions } from './redis.js'
export { JOB_STATUSES, isFinal } from './store.js'
export type {
  JobError,
  JobFinished,
  JobListener,
  JobRecord,
  JobProcessor,
  JobStatus,
  JobStore,
  JobSubmission,
  JobStoreHealth,
  JobRunOptions,
} from './store.js'
export { jobView } from './view.js'
export { isNewer, jobChanges, waitForJob } from './wait.js'
export { SIGNATURE_HEADER, checkWebhook, deliverWebhook, signWebhook } from './webhook.js'
