export { WorkerRunner } from './runner.js'
export type { Runner, RunnerState, RunOptions } from './runner.js'
export type { ModelCaller, RunnerOptions } from './protocol.js'
export type { Isolation, SpawnOptions } from './channel.js'
