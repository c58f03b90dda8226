import type { Config } from '../config/index.js'
import type { JobStore } from '../jobs/index.js'
import type { ModelRegistry } from '../serving/index.js'

/** What the HTTP layer is built from; plugins receive it as their options. */
export interface AppDeps {
  config: Readonly<Config>
  registry: ModelRegistry
  jobs: JobStore
}
