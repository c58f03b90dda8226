import { applyModelSettings, type Config } from '../config/index.js'
import { openJobStore, type JobStore } from '../jobs/index.js'
import { loadModels, type Logger, type ModelDescriptor } from '../model/index.js'
import { ModelRegistry, type ModelState } from '../serving/index.js'
import { AdminStateFile, adminStatePath } from './admin-state.js'
import { ModelRepository } from './repository.js'
import { restoreOverrides } from './restore.js'

/** Where a host is in its life: serving until SIGTERM, then draining (still serving), then closing. */
export type HostPhase = 'serving' | 'draining' | 'closing' | 'closed'

export interface Readiness {
  ready: boolean
  /** Why not, when not ready. */
  reason?: 'loading' | 'draining' | 'shutting down' | 'model failed' | 'model down'
  /** Each model's state, by name. */
  models: Record<string, ModelState>
}

/** How a shutdown ended: everything answered in time, or cut short at shutdownTimeoutMs. */
export type ShutdownOutcome = 'clean' | 'timed out'

// after the drain timed out: how long the forced close (abort jobs, kill runners) may take before giving up on it
const FORCED_CLOSE_MS = 2_000
const GIVE_UP_CHECK_MS = 250 // how soon a model that goes down during the drain lets go of what waits for it

/** Load descriptors for every path; throws ModelLoadError naming the file on the first bad one. */
export async function loadAll(paths: string[]): Promise<ModelDescriptor[]> {
  const all = (await Promise.all(paths.map(loadModels))).flat()
  // `carafe serve examples/ocr examples/text-detection` names text-detection twice (once through requires): serve it once.
  const key = (d: ModelDescriptor) => `${d.name}\0${d.source.path}`
  return all.filter((d, i) => all.findIndex((e) => key(e) === key(d)) === i)
}

/**
 * The one composition root: the models and the job store, how jobs reach the models, readiness, and the shutdown
 * order. `carafe serve`, `carafe worker` and the Fastify plugin all run through it.
 */
export class CarafeHost {
  readonly registry: ModelRegistry
  readonly jobs: JobStore
  /** The model directories served, kept in step with the registry (hot reload, the management API). */
  readonly repository: ModelRepository
  readonly #config: Readonly<Config>
  readonly #log: Logger
  #phase: HostPhase = 'serving'
  #shutdown: Promise<ShutdownOutcome> | undefined

  private constructor(
    registry: ModelRegistry,
    jobs: JobStore,
    repository: ModelRepository,
    config: Readonly<Config>,
    log: Logger,
  ) {
    this.registry = registry
    this.jobs = jobs
    this.repository = repository
    this.#config = config
    this.#log = log
  }

  static async open({
    descriptors,
    config,
    logger,
    paths = [],
    adminState = true,
  }: {
    descriptors: ModelDescriptor[]
    config: Readonly<Config>
    logger: Logger
    /** The served paths: the directories among them are watched for new, changed and removed models. */
    paths?: string[]
    /** Keep the management API's changes across restarts (false for `carafe worker`, which has no such API). */
    adminState?: boolean
  }): Promise<CarafeHost> {
    // the saved changes apply before anything loads: an unloaded model never starts, PATCHed settings are the first used
    const state = new AdminStateFile(adminState ? adminStatePath(config) : undefined, logger)
    const restored = await restoreOverrides({
      saved: await state.read(),
      descriptors: applyModelSettings(descriptors, config),
      paths,
      config,
      log: logger,
    })
    const registry = new ModelRegistry(restored.descriptors, config, logger)
    for (const [name, o] of restored.overrides)
      if (o.defaultVersion !== undefined) registry.setDefaultVersion(name, o.defaultVersion)
    const repository = new ModelRepository(registry, config, logger, paths, {
      state,
      overrides: restored.overrides,
    })
    await repository.init(restored.descriptors)
    if (restored.dropped) await repository.saveNow()
    const jobs = await openJobStore(config, logger)
    return new CarafeHost(registry, jobs, repository, config, logger)
  }

  get phase(): HostPhase {
    return this.#phase
  }

  /** False once the drain is over: new sync requests and job submits are refused with SHUTTING_DOWN. */
  get accepting(): boolean {
    return this.#phase === 'serving' || this.#phase === 'draining'
  }

  /** Load and warm up every model, then start taking background jobs. */
  async start(): Promise<void> {
    await this.registry.start()
    if (this.#phase !== 'serving') return
    // background jobs go through the same predict path (queue, batcher, runner) as sync requests, but they were
    // admitted at submit: they wait their turn in the queue instead of being refused as overloaded
    this.jobs.start((job, options) =>
      this.registry.get(job.model, job.version).predict(job.instances, { ...options, job: true }),
    )
    this.repository.watch()
  }

  /** Rescan the model repository now (SIGHUP, POST /v1/admin/reload). */
  reload(): Promise<void> {
    return this.repository.reloadAll()
  }

  /** Should this replica get traffic? See docs/DESIGN-NOTES.md, "Readiness". */
  readiness(): Readiness {
    const models = Object.fromEntries(this.registry.list().map((m) => [m.name, m.state]))
    // every version taking traffic counts, not only the defaults
    const states = this.registry.all().map((m) => m.state)
    const reason =
      this.#phase === 'draining'
        ? 'draining'
        : this.#phase !== 'serving' || states.includes('stopping') || states.includes('stopped')
          ? 'shutting down'
          : states.includes('failed')
            ? 'model failed'
            : states.includes('loading')
              ? 'loading'
              : states.includes('down')
                ? 'model down'
                : undefined
    return { ready: reason === undefined, ...(reason ? { reason } : {}), models }
  }

  /**
   * The one shutdown order: report draining (still serving) for drainDelayMs; then refuse new work, stop job intake
   * and let the HTTP layer answer what it accepted (`closeHttp`) while the jobs already running finish (their
   * ctx.models calls still run); then close the job store and the models. The part after the drain is bounded by
   * shutdownTimeoutMs: past it, running jobs go back to the queue and the runners are stopped.
   */
  shutdown(
    closeHttp: () => Promise<void> = async () => undefined,
    { drain = true }: { drain?: boolean } = {},
  ): Promise<ShutdownOutcome> {
    this.#shutdown ??= this.#runShutdown(closeHttp, drain ? this.#config.drainDelayMs : 0)
    return this.#shutdown
  }

  async #runShutdown(closeHttp: () => Promise<void>, drainDelayMs: number): Promise<ShutdownOutcome> {
    const { shutdownTimeoutMs } = this.#config
    this.#phase = 'draining'
    this.repository.stop()
    if (drainDelayMs > 0) {
      this.#log.info({ drainDelayMs }, 'draining: /readyz answers 503 while requests are still served')
      await sleep(drainDelayMs)
    }
    this.#phase = 'closing'
    this.#log.info({ shutdownTimeoutMs }, 'closing: new work refused, finishing accepted requests and running jobs')
    const closeJobs = once(() => this.jobs.close())
    // a model that is down (or goes down during the drain) would hold its queued requests until the timeout
    this.registry.giveUpOnDownModels()
    const giveUp = setInterval(() => this.registry.giveUpOnDownModels(), GIVE_UP_CHECK_MS)
    const graceful = (async () => {
      await Promise.all([this.jobs.stopIntake(), closeHttp()])
      await closeJobs()
      await this.registry.close()
      return 'clean' as const
    })()
    const outcome = await within(graceful, shutdownTimeoutMs)
    clearInterval(giveUp)
    if (outcome === 'timed out') {
      this.#log.warn({ shutdownTimeoutMs }, 'shutdown timed out: running jobs go back to the queue, runners stop')
      const forced = (async () => {
        await closeJobs() // aborted jobs are not failed: they run again (embedded: next start; Redis: any worker)
        await this.registry.close({ force: true })
      })()
      await within(forced, FORCED_CLOSE_MS)
    }
    this.#phase = 'closed'
    return outcome
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** `work`, or 'timed out' after `ms`; the timer is cleared either way, so nothing waits for it once work is done. */
function within<T>(work: Promise<T>, ms: number): Promise<T | 'timed out'> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<'timed out'>((resolve) => {
    timer = setTimeout(resolve, ms, 'timed out')
  })
  return Promise.race([work, limit]).finally(() => clearTimeout(timer))
}

function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined
  return () => (result ??= fn())
}
