import type { Config } from '../config/index.js'
import type { CarafeHost } from '../host/index.js'
import type { JobStore } from '../jobs/index.js'
import type { ModelRegistry } from '../serving/index.js'

/** What the HTTP layer is built from; plugins receive it as their options. */
export interface AppDeps {
  config: Readonly<Config>
  registry: ModelRegistry
  jobs: JobStore
  /** Readiness and the shutdown phase (draining, closing) come from here. */
  host: CarafeHost
}

/** The routes' view of a host. */
export const depsOf = (host: CarafeHost, config: Readonly<Config>): AppDeps => ({
  config,
  registry: host.registry,
  jobs: host.jobs,
  host,
})
