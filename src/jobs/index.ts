export { EmbeddedJobStore, type EmbeddedOptions } from './embedded.js'
export { openJobStore } from './open.js'
export { JOB_STATUSES, isFinal } from './store.js'
export type { JobError, JobFinished, JobRecord, JobRunner, JobStatus, JobStore, JobSubmission, RunOptions } from './store.js'
