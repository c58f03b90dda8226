export { WorkerRunner } from './runner.js'
export type { CancelSignal, Runner, RunnerState, RunOptions } from './runner.js'
export type { ModelCaller, RunnerOptions } from './protocol.js'
export type { Isolation, SpawnOptions } from './channel.js'
