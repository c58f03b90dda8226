export { CarafeHost, loadAll } from './host.js'
export type { HostPhase, Readiness, ShutdownOutcome } from './host.js'
