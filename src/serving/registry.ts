import type { Config } from '../config/index.js'
import { CarafeError } from '../errors.js'
import type { Logger, ModelDescriptor } from '../model/index.js'
import { ServedModel } from './served-model.js'

/** Why the last load of a model (or one version of it) failed; the versions already served keep serving. */
export interface LoadFailure {
  version?: string
  error: string
  at: string
}

/** One version of a model as the model list shows it. */
export interface VersionView {
  version: string
  state: string
  default: boolean
  /** Process RSS growth over this version's load and warm-up, in MB (an approximation: see ServedModel.memoryMb). */
  memoryMb: number
  workers: number
}

interface ModelEntry {
  /** Versions taking traffic. A version is put here only once it has loaded and warmed up. */
  readonly versions: Map<string, ServedModel>
  /** Versions loading in the background: listed with their state, never given a request. */
  readonly loading: Map<string, ServedModel>
  /** Set by the management API; otherwise the highest version served is the default. */
  defaultVersion?: string
  failure?: LoadFailure
}

/** The served models by name, each with one or more versions side by side; what http and jobs see of the runtime. */
export class ModelRegistry {
  readonly #models = new Map<string, ModelEntry>()
  readonly #started = new Map<string, Promise<void>>()
  readonly #config: Readonly<Config>
  readonly #log: Logger
  readonly #added = new Set<(model: ServedModel) => void>()
  readonly #removed = new Set<(name: string, version: string) => void>()
  readonly #loadErrors = new Map<string, number>()

  constructor(descriptors: ModelDescriptor[], config: Readonly<Config>, log: Logger) {
    this.#config = config
    this.#log = log
    for (const descriptor of descriptors) {
      const entry = this.#entry(descriptor.name)
      if (entry.versions.has(descriptor.version))
        throw new Error(
          `two models are named "${descriptor.name}" (version ${descriptor.version}); names must be unique`,
        )
      entry.versions.set(descriptor.version, this.#create(descriptor))
    }
  }

  get size(): number {
    return this.list().length
  }

  /** Each model's default version (the one a request without a version reaches). */
  list(): ServedModel[] {
    return [...this.#models.keys()].flatMap((name) => {
      const model = this.#default(name)
      return model ? [model] : []
    })
  }

  /** Every version of every model that takes traffic. */
  all(): ServedModel[] {
    return [...this.#models.values()].flatMap((e) => [...e.versions.values()])
  }

  /** Every model name known: served, loading, or failed to load. */
  names(): string[] {
    return [...this.#models.keys()].sort()
  }

  /** The model's default version, or the named version; MODEL_NOT_FOUND / VERSION_NOT_FOUND otherwise. */
  get(name: string, version?: string): ServedModel {
    const entry = this.#models.get(name)
    const fallback = entry && this.#default(name)
    if (!entry || !fallback)
      throw new CarafeError('MODEL_NOT_FOUND', `No model named "${name}" is served`, [
        { model: name, available: this.list().map((m) => m.name) },
      ])
    if (version === undefined) return fallback
    const model = entry.versions.get(version)
    if (!model)
      throw new CarafeError('VERSION_NOT_FOUND', `Model "${name}" is not served at version ${version}`, [
        { model: name, version, available: this.#sortedVersions(entry) },
      ])
    return model
  }

  has(name: string): boolean {
    return this.#default(name) !== undefined
  }

  /** The versions of a model with their state, highest first, loading ones included. */
  versionsOf(name: string): VersionView[] {
    const entry = this.#models.get(name)
    if (!entry) return []
    const defaultVersion = this.#default(name)?.descriptor.version
    const view = (m: ServedModel, state: string): VersionView => ({
      version: m.descriptor.version,
      state,
      default: state !== 'loading' && m.descriptor.version === defaultVersion,
      memoryMb: m.memoryMb,
      workers: m.workers,
    })
    const served = [...entry.versions.values()].map((m) => view(m, m.state))
    const loading = [...entry.loading.values()]
      .filter((m) => !entry.versions.has(m.descriptor.version))
      .map((m) => view(m, 'loading'))
    return [...served, ...loading].sort((a, b) => compareVersions(b.version, a.version))
  }

  /** The last load failure of a model, cleared by its next successful load. */
  failureOf(name: string): LoadFailure | undefined {
    return this.#models.get(name)?.failure
  }

  /** Failed loads since start, by model (the carafe_model_load_errors_total counter). */
  loadErrorCounts(): ReadonlyMap<string, number> {
    return this.#loadErrors
  }

  /** Record a failed load (a broken new version, a carafe.yaml that no longer parses): listed, logged, counted. */
  recordFailure(name: string, version: string | undefined, error: string): void {
    const failure = { ...(version !== undefined ? { version } : {}), error, at: new Date().toISOString() }
    this.#entry(name).failure = failure
    this.#loadErrors.set(name, (this.#loadErrors.get(name) ?? 0) + 1)
    this.#log.error({ model: name, ...failure }, 'model load failed; the versions already served keep serving')
  }

  /** Requests without a version go to `version` from now on; undefined: back to the highest served. */
  setDefaultVersion(name: string, version: string | undefined): void {
    if (version !== undefined) this.get(name, version)
    const entry = this.#models.get(name)
    if (entry) entry.defaultVersion = version
  }

  /** Called for every ServedModel that starts taking traffic, the ones there now included (metrics subscribe here). */
  onAdded(listener: (model: ServedModel) => void): void {
    this.#added.add(listener)
    for (const model of this.all()) listener(model)
  }

  /** Called when a version stops being served (not when a reload replaces it under the same number). */
  onRemoved(listener: (name: string, version: string) => void): void {
    this.#removed.add(listener)
  }

  /** Load every model concurrently; rejects with the first failure. */
  async start(): Promise<void> {
    await Promise.all(
      this.all().map((m) => {
        const started = m.start()
        if (!this.#started.has(m.name))
          this.#started.set(
            m.name,
            started.catch(() => undefined),
          )
        return started
      }),
    )
  }

  /**
   * Load and warm up a version in the background, then let it take traffic; a version already served under the same
   * number (a changed carafe.yaml or model file, new settings) is replaced and drained. A failed load is recorded and
   * rethrown; whatever served before keeps serving.
   */
  async add(descriptor: ModelDescriptor): Promise<ServedModel> {
    const { name, version } = descriptor
    const entry = this.#entry(name)
    let model: ServedModel
    try {
      model = this.#create(descriptor)
    } catch (error) {
      this.recordFailure(name, version, (error as Error).message)
      throw error
    }
    entry.loading.set(version, model)
    try {
      await model.start()
    } catch (error) {
      this.recordFailure(name, version, (error as Error).message)
      throw error
    } finally {
      if (entry.loading.get(version) === model) entry.loading.delete(version)
    }
    const previous = entry.versions.get(version)
    entry.versions.set(version, model)
    entry.failure = undefined
    for (const listener of this.#added) listener(model)
    this.#log.info({ model: name, version, memoryMb: model.memoryMb }, 'model version loaded and taking traffic')
    if (previous) await this.#retire(previous)
    return model
  }

  /** Stop giving a version new requests, answer what it holds, then stop its runners. */
  async remove(name: string, version: string): Promise<void> {
    const entry = this.#models.get(name)
    const model = entry?.versions.get(version)
    if (!entry || !model) {
      this.get(name, version)
      return
    }
    entry.versions.delete(version)
    if (entry.defaultVersion === version) entry.defaultVersion = undefined
    if (entry.versions.size === 0 && entry.loading.size === 0) this.#models.delete(name)
    for (const listener of this.#removed) listener(name, version)
    await this.#retire(model)
  }

  /** Forget a model that is neither served nor loading (its folder was removed after its load failed). */
  forget(name: string): void {
    const entry = this.#models.get(name)
    if (entry && entry.versions.size === 0 && entry.loading.size === 0) this.#models.delete(name)
  }

  async #retire(model: ServedModel): Promise<void> {
    const { name, version } = model.descriptor
    this.#log.info({ model: name, version }, 'model version draining: no new requests, in-flight ones finish')
    await model.close()
    this.#log.info({ model: name, version }, 'model version unloaded: runners closed')
  }

  #entry(name: string): ModelEntry {
    let entry = this.#models.get(name)
    if (!entry) {
      entry = { versions: new Map(), loading: new Map() }
      this.#models.set(name, entry)
    }
    return entry
  }

  #create(descriptor: ModelDescriptor): ServedModel {
    return new ServedModel(descriptor, this.#config, this.#log, undefined, (name, instances, options) =>
      this.#call(name, instances, options),
    )
  }

  #default(name: string): ServedModel | undefined {
    const entry = this.#models.get(name)
    if (!entry || entry.versions.size === 0) return undefined
    const chosen = entry.defaultVersion !== undefined ? entry.versions.get(entry.defaultVersion) : undefined
    return chosen ?? entry.versions.get(this.#sortedVersions(entry)[0])
  }

  #sortedVersions(entry: ModelEntry): string[] {
    return [...entry.versions.keys()].sort((a, b) => compareVersions(b, a))
  }

  /** A handler's ctx.models call; one made during warm-up waits for the called model to finish starting. */
  async #call(name: string, instances: unknown[], options: { timeoutMs?: number }): Promise<unknown[]> {
    await this.#started.get(name)
    return this.get(name).predict(instances, options)
  }

  /** At shutdown: models that are down refuse what waits for them (see ServedModel.giveUpIfDown). */
  giveUpOnDownModels(): void {
    for (const m of this.list()) m.giveUpIfDown()
  }

  /** Answer what is queued and stop the runners; `force`: refuse what is queued (see ServedModel.close). */
  async close(options: { force?: boolean } = {}): Promise<void> {
    const loading = [...this.#models.values()].flatMap((e) => [...e.loading.values()])
    await Promise.all([...this.all(), ...loading].map((m) => m.close(options)))
  }
}

/** Numeric versions compare as numbers, others as text. */
export function compareVersions(a: string, b: string): number {
  const x = Number(a)
  const y = Number(b)
  return Number.isFinite(x) && Number.isFinite(y) ? x - y : a.localeCompare(b)
}
