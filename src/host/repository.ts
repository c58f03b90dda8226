import { createHash } from 'node:crypto'
import { type FSWatcher, watch } from 'node:fs'
import { readdir, readFile, stat } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { type Config, type ModelSettings, withSettings } from '../config/index.js'
import { CarafeError } from '../errors.js'
import {
  listVersions,
  loadDirectoryDescriptor,
  MODEL_FILE,
  modelDirsIn,
  readDirConfig,
  selectVersions,
  type Logger,
  type ModelDescriptor,
} from '../model/index.js'
import type { ModelRegistry, VersionView } from '../serving/index.js'
import { type AdminStateFile, noOverrides, type Overrides, toSaved } from './admin-state.js'

// a version folder seen changing is loaded once a later scan finds it unchanged (copying a folder is not atomic)
const SETTLE_MS = 300
// an explicit reload waits at most this many settle rounds for files still being written
const MAX_SETTLE_ROUNDS = 40
// a versionless model directory (its model file beside carafe.yaml) has this key in place of a version
const NO_VERSION = ''

/** What one reconcile of a model directory did. */
interface Outcome {
  pending: boolean
  errors: { version?: string; error: unknown }[]
}

/**
 * The model repository: the model directories under the served paths, kept in step with the registry. New version
 * folders load in the background and take traffic once warm; removed ones drain and unload; a changed carafe.yaml or
 * model file reloads (new first, swap, drain the old); a load that fails is recorded and the old version keeps serving.
 * Runs on fs.watch events, a periodic rescan (fs.watch misses events on some filesystems), SIGHUP and the admin API.
 */
export class ModelRepository {
  readonly #registry: ModelRegistry
  readonly #config: Readonly<Config>
  readonly #log: Logger
  readonly #roots: string[]
  /** model directory → the model name it serves */
  readonly #dirs = new Map<string, string>()
  /** `name@version` → fingerprint of the files it was loaded from */
  readonly #loaded = new Map<string, string>()
  /** `name@version` → the version the registry serves it as (differs only for a versionless directory) */
  readonly #servedAs = new Map<string, string>()
  /** `name@version` → fingerprint at the previous scan */
  readonly #seen = new Map<string, string>()
  /** `name@version` (or `dir#config`) → fingerprint whose load failed: not tried again until it changes */
  readonly #failed = new Map<string, string>()
  readonly #overrides: Map<string, Overrides>
  readonly #state: AdminStateFile | undefined
  #chain: Promise<unknown> = Promise.resolve()
  #watchers: FSWatcher[] = []
  #timer: NodeJS.Timeout | undefined
  #soon: NodeJS.Timeout | undefined
  #stopped = false

  constructor(
    registry: ModelRegistry,
    config: Readonly<Config>,
    log: Logger,
    paths: string[],
    {
      state,
      overrides = new Map(),
    }: {
      /** Where the management API's changes are saved (none: they live in memory only). */
      state?: AdminStateFile
      /** The changes saved before the restart, already applied to the start-up descriptors (see restoreOverrides). */
      overrides?: Map<string, Overrides>
    } = {},
  ) {
    this.#registry = registry
    this.#config = config
    this.#log = log
    this.#roots = paths.map((p) => resolve(p))
    this.#state = state
    this.#overrides = overrides
  }

  /** Record what the initial descriptors were loaded from, so the first scan loads only what changed since. */
  async init(descriptors: ModelDescriptor[]): Promise<void> {
    for (const d of descriptors) {
      if (!(await exists(join(d.dir, MODEL_FILE)))) continue
      const versioned = (await listVersions(d.dir)).includes(d.version)
      const version = versioned ? d.version : NO_VERSION
      const key = keyOf(d.name, version)
      const print = await fingerprint(d.dir, version)
      this.#dirs.set(resolve(d.dir), d.name)
      this.#loaded.set(key, print)
      this.#seen.set(key, print)
      this.#servedAs.set(key, d.version)
    }
  }

  /** Watch the served directories (fs.watch, plus a rescan every repositoryPollMs). */
  watch(): void {
    const every = this.#config.repositoryPollMs
    if (every === 0 || this.#stopped) return
    for (const root of this.#roots) {
      try {
        const watcher = watch(root, { recursive: true }, () => this.#scheduleScan(150))
        watcher.on('error', () => watcher.close())
        this.#watchers.push(watcher)
      } catch {
        // not a directory, or fs.watch unsupported here: the periodic rescan covers it
      }
    }
    this.#timer = setInterval(() => this.#scheduleScan(0), every)
    this.#timer.unref()
  }

  /** Stop watching; a load under way is ended by the registry's close (it closes loading versions too). */
  stop(): void {
    this.#stopped = true
    for (const w of this.#watchers) w.close()
    clearInterval(this.#timer)
    clearTimeout(this.#soon)
  }

  /** Rescan everything now and wait until files being written have settled (POST /v1/admin/reload, SIGHUP). */
  reloadAll(): Promise<void> {
    return this.#serial(async () => {
      for (let round = 0; round < MAX_SETTLE_ROUNDS; round++) {
        if (!(await this.#scanAll()).pending) return
        await sleep(SETTLE_MS)
      }
    })
  }

  /** Load a model folder of the repository by name, or one version of it (even outside its version policy). */
  load(name: string, version?: string): Promise<VersionView[]> {
    return this.#serial(async () => {
      const dir = await this.#dirOf(name)
      const o = this.#overridesOf(name)
      if (version !== undefined) {
        if (!(await listVersions(dir)).includes(version))
          throw new CarafeError('VERSION_NOT_FOUND', `Model folder "${name}" has no version folder ${version}`, [
            { model: name, version, available: await listVersions(dir) },
          ])
        o.unloadedVersions.delete(version)
        o.extraVersions.add(version)
      }
      o.unloaded = false
      if (version === undefined) o.unloadedVersions.clear()
      const outcome = await this.#reconcile(dir, { explicit: true })
      throwFirst(outcome, name)
      await this.#save()
      return this.#registry.versionsOf(name)
    })
  }

  /** Stop serving a model (every version) or one version; the scan leaves it out until it is loaded again. */
  unload(name: string, version?: string): Promise<VersionView[]> {
    return this.#serial(async () => {
      this.#registry.get(name, version) // MODEL_NOT_FOUND / VERSION_NOT_FOUND
      const o = this.#overridesOf(name)
      const versions = version !== undefined ? [version] : this.#servedVersions(name)
      if (version !== undefined) {
        o.unloadedVersions.add(version)
        o.extraVersions.delete(version)
      } else o.unloaded = true
      await this.#remove(name, versions)
      await this.#save()
      return this.#registry.versionsOf(name)
    })
  }

  /** Load every served version of a model again from its folder (new first, then swap and drain the old). */
  reload(name: string): Promise<VersionView[]> {
    return this.#serial(async () => {
      this.#registry.get(name)
      const dir = await this.#dirOf(name)
      const outcome = await this.#reconcile(dir, { explicit: true, everything: true })
      throwFirst(outcome, name)
      return this.#registry.versionsOf(name)
    })
  }

  /** Change workers and batching at run time: a replacement with the new settings loads, then takes over. */
  update(name: string, settings: ModelSettings): Promise<VersionView[]> {
    return this.#serial(async () => {
      const current = this.#servedVersions(name).map((v) => this.#registry.get(name, v))
      if (current.length === 0) this.#registry.get(name)
      const o = this.#overridesOf(name)
      o.settings = { ...o.settings, ...settings }
      for (const model of current) {
        this.#checkBudget(name)
        await this.#registry.add(withSettings(model.descriptor, o.settings))
      }
      await this.#save()
      return this.#registry.versionsOf(name)
    })
  }

  /** Requests without a version go to `version` from now on (kept across restarts, like the other changes). */
  setDefaultVersion(name: string, version: string): Promise<void> {
    return this.#serial(async () => {
      this.#registry.setDefaultVersion(name, version)
      this.#overridesOf(name).defaultVersion = version
      await this.#save()
    })
  }

  /**
   * Forget the management API's changes to a model: its folder's version policy, the highest version as default and
   * the configured settings again (served versions reload when settings had changed). A model without a folder keeps
   * its run-time settings until the next start.
   */
  reset(name: string): Promise<VersionView[]> {
    return this.#serial(async () => {
      const dir = await this.#dirOf(name).catch((error: unknown) => {
        if (!this.#registry.has(name)) throw error
        return undefined
      })
      const before = this.#overrides.get(name)
      this.#overrides.delete(name)
      this.#registry.setDefaultVersion(name, undefined)
      const outcome = dir
        ? await this.#reconcile(dir, { explicit: true, everything: before?.settings !== undefined })
        : { pending: false, errors: [] }
      await this.#save()
      throwFirst(outcome, name)
      return this.#registry.versionsOf(name)
    })
  }

  /** Rewrite the admin state file now (at start, once saved changes that no longer apply were dropped). */
  saveNow(): Promise<void> {
    return this.#serial(() => this.#save())
  }

  /** Write the management API's changes to the admin state file (a no-op without one). */
  async #save(): Promise<void> {
    if (!this.#state) return
    const saved = toSaved(this.#overrides)
    // a version loaded on demand is kept only once it serves: one whose load failed would fail every later start
    for (const [name, s] of Object.entries(saved)) {
      if (!s.extraVersions) continue
      const served = new Set(this.#servedVersions(name))
      s.extraVersions = s.extraVersions.filter((v) => served.has(v))
      if (s.extraVersions.length === 0) delete s.extraVersions
      if (Object.keys(s).length === 0) delete saved[name]
    }
    await this.#state.save(saved)
  }

  /** Drain and unload served versions; a default version set through the API goes with its version. */
  async #remove(name: string, versions: string[]): Promise<boolean> {
    for (const v of versions) this.#forgetLoaded(name, v)
    await Promise.all(versions.map((v) => this.#registry.remove(name, v)))
    const o = this.#overrides.get(name)
    if (o?.defaultVersion === undefined || !versions.includes(o.defaultVersion)) return false
    o.defaultVersion = undefined
    return true
  }

  #scheduleScan(delayMs: number): void {
    if (this.#stopped || this.#soon) return
    this.#soon = setTimeout(() => {
      this.#soon = undefined
      void this.#serial(() => this.#scanAll()).then(
        (outcome) => {
          if (outcome.pending) this.#scheduleScan(SETTLE_MS)
        },
        (error: unknown) => this.#log.error({ err: error }, 'repository scan failed'),
      )
    }, delayMs)
    this.#soon.unref()
  }

  async #scanAll(): Promise<Outcome> {
    const dirs = new Set(this.#dirs.keys())
    for (const root of this.#roots) for (const dir of await modelDirsIn(root)) dirs.add(dir)
    const all: Outcome = { pending: false, errors: [] }
    for (const dir of dirs) {
      if (this.#stopped) break
      const outcome = await this.#reconcile(dir, {})
      all.pending ||= outcome.pending
      all.errors.push(...outcome.errors)
    }
    return all
  }

  /**
   * Bring one model directory's served versions in line with its folder: load new or changed versions (once their
   * files have settled, unless `explicit`), unload the ones gone. `everything`: reload even what did not change.
   */
  async #reconcile(dir: string, { explicit = false, everything = false }): Promise<Outcome> {
    const outcome: Outcome = { pending: false, errors: [] }
    const known = this.#dirs.get(dir)
    if (!(await exists(join(dir, MODEL_FILE)))) {
      if (known) await this.#dropModel(known, dir)
      return outcome
    }
    const configKey = `${dir}#config`
    let config: Awaited<ReturnType<typeof readDirConfig>>
    try {
      config = await readDirConfig(join(dir, MODEL_FILE))
      this.#failed.delete(configKey)
    } catch (error) {
      const print = await fingerprint(dir, NO_VERSION)
      if (explicit || this.#failed.get(configKey) !== print) {
        this.#failed.set(configKey, print)
        this.#registry.recordFailure(known ?? basename(dir), undefined, (error as Error).message)
        outcome.errors.push({ error })
      }
      return outcome
    }
    // a handler may name itself: a folder already served keeps the name its descriptor had
    const name = config.name ?? known ?? basename(dir)
    if (known && known !== name) await this.#dropModel(known, dir)
    this.#dirs.set(dir, name)
    const o = this.#overridesOf(name)
    const available = await listVersions(dir)
    const wanted = o.unloaded
      ? []
      : available.length === 0
        ? [NO_VERSION]
        : [...new Set([...selectVersions(available, config.versionPolicy), ...o.extraVersions])].filter(
            (v) => available.includes(v) && !o.unloadedVersions.has(v),
          )
    for (const version of wanted) {
      const key = keyOf(name, version)
      const print = await fingerprint(dir, version)
      const before = this.#seen.get(key)
      this.#seen.set(key, print)
      if (!everything && this.#loaded.get(key) === print) continue
      if (!explicit && this.#failed.get(key) === print) continue
      if (!explicit && before !== print) {
        outcome.pending = true // seen changing: load it once a later scan finds the same files
        continue
      }
      try {
        this.#checkBudget(name)
        const descriptor = withSettings(
          withSettings(
            await loadDirectoryDescriptor(dir, version === NO_VERSION ? undefined : version, config),
            this.#config.models?.[name],
          ),
          o.settings,
        )
        if (this.#stopped) return outcome
        await this.#registry.add(descriptor)
        this.#loaded.set(key, print)
        this.#servedAs.set(key, descriptor.version)
        this.#failed.delete(key)
      } catch (error) {
        // registry.add records its own failures (setup threw); a descriptor that cannot be read is recorded here
        if (this.#registry.failureOf(name)?.error !== (error as Error).message)
          this.#registry.recordFailure(name, version || undefined, (error as Error).message)
        this.#failed.set(key, print)
        outcome.errors.push({ version: version || undefined, error })
      }
    }
    // served versions that left the folder or the policy drain and unload
    if (available.length > 0 || o.unloaded) {
      const keep = new Set(wanted)
      const served = this.#servedVersions(name)
      // while a version the policy wants is not serving (loading, broken), the one it would replace keeps serving,
      // unless its folder is gone
      const complete = wanted.every((v) => served.includes(v))
      const gone = served.filter(
        (v) => !keep.has(v) && this.#loaded.has(keyOf(name, v)) && (complete || o.unloaded || !available.includes(v)),
      )
      if (await this.#remove(name, gone)) await this.#save()
    }
    return outcome
  }

  async #dropModel(name: string, dir: string): Promise<void> {
    this.#dirs.delete(dir)
    if (await this.#remove(name, this.#servedVersions(name))) await this.#save()
    this.#registry.forget(name)
  }

  #forgetLoaded(name: string, servedVersion: string): void {
    for (const [key, as] of this.#servedAs) {
      if (as === servedVersion && key.startsWith(`${name}@`)) {
        this.#loaded.delete(key)
        this.#seen.delete(key)
        this.#servedAs.delete(key)
      }
    }
  }

  #servedVersions(name: string): string[] {
    return this.#registry
      .versionsOf(name)
      .filter((v) => v.state !== 'loading')
      .map((v) => v.version)
  }

  /** Refuse a load that would take RSS past memoryBudgetMb, estimating the model by its largest served version. */
  #checkBudget(name: string): void {
    const budget = this.#config.memoryBudgetMb
    if (budget === undefined) return
    const rssMb = Math.round(process.memoryUsage.rss() / 2 ** 20)
    const estimateMb = Math.max(0, ...this.#registry.versionsOf(name).map((v) => v.memoryMb))
    if (rssMb + estimateMb > budget)
      throw new CarafeError(
        'MEMORY_BUDGET_EXCEEDED',
        `Loading "${name}" needs about ${estimateMb} MB over the ${rssMb} MB in use; memoryBudgetMb is ${budget}`,
        [{ model: name, budgetMb: budget, rssMb, estimateMb }],
      )
  }

  async #dirOf(name: string): Promise<string> {
    for (const [dir, served] of this.#dirs) if (served === name) return dir
    for (const root of this.#roots) {
      for (const dir of await modelDirsIn(root)) {
        const configured = await readDirConfig(join(dir, MODEL_FILE)).then(
          (c) => c.name,
          () => undefined,
        )
        if ((configured ?? basename(dir)) === name) return dir
      }
    }
    throw new CarafeError('MODEL_NOT_FOUND', `No model folder named "${name}" in the served repository`, [
      { model: name },
    ])
  }

  #overridesOf(name: string): Overrides {
    let o = this.#overrides.get(name)
    if (!o) {
      o = noOverrides()
      this.#overrides.set(name, o)
    }
    return o
  }

  /** One change at a time: scans, reloads and admin calls never interleave. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn, fn)
    this.#chain = run.catch(() => undefined)
    return run
  }
}

/** A load the caller asked for failed: answer why (the old version keeps serving). */
function throwFirst(outcome: Outcome, name: string): void {
  const first = outcome.errors[0]
  if (!first) return
  if (first.error instanceof CarafeError) throw first.error
  throw new CarafeError(
    'MODEL_LOAD_FAILED',
    `Model "${name}"${first.version ? ` version ${first.version}` : ''} could not be loaded: ${(first.error as Error).message}`,
    [{ model: name, ...(first.version ? { version: first.version } : {}) }],
  )
}

const keyOf = (name: string, version: string) => `${name}@${version}`

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  )

/** carafe.yaml's text and the name, size and mtime of each file of the version folder (two levels deep). */
async function fingerprint(dir: string, version: string): Promise<string> {
  const hash = createHash('sha256')
  hash.update(await readFile(join(dir, MODEL_FILE)).catch(() => Buffer.alloc(0)))
  const walk = async (folder: string, depth: number) => {
    const entries = await readdir(folder, { withFileTypes: true }).catch(() => [])
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(folder, e.name)
      if (e.isFile()) {
        const s = await stat(path).catch(() => undefined)
        if (s) hash.update(`${path}\0${s.size}\0${s.mtimeMs}\n`)
      } else if (e.isDirectory() && depth > 0 && (version !== NO_VERSION || !/^\d+$/.test(e.name)))
        await walk(path, depth - 1)
    }
  }
  await walk(version === NO_VERSION ? dir : join(dir, version), version === NO_VERSION ? 0 : 2)
  return hash.digest('base64url')
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
