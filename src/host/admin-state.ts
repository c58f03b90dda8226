import { mkdir, open, readFile, rename } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { Ajv } from 'ajv'
import { Type, type Static } from 'typebox'
import { type Config, ModelSettings } from '../config/index.js'
import type { Logger } from '../model/index.js'

const Version = Type.String({ pattern: '^[0-9]+$', maxLength: 12 })

/** What the management API changed for one model, as kept on disk. */
export const SavedModel = Type.Object(
  {
    unloaded: Type.Optional(Type.Boolean()),
    unloadedVersions: Type.Optional(Type.Array(Version)),
    extraVersions: Type.Optional(Type.Array(Version)),
    defaultVersion: Type.Optional(Version),
    settings: Type.Optional(
      Type.Object(
        { workers: ModelSettings.properties.workers, batch: ModelSettings.properties.batch },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)
export type SavedModel = Static<typeof SavedModel>

const StateFile = Type.Object({
  format: Type.Literal(1),
  savedAt: Type.Optional(Type.String()),
  models: Type.Record(Type.String(), SavedModel),
})
type StateFile = Static<typeof StateFile>

/** What the management API changed for one model, in memory: the repository's scans and loads follow it. */
export interface Overrides {
  /** Unloaded through the management API: the repository scan leaves it out until it is loaded again. */
  unloaded?: boolean
  unloadedVersions: Set<string>
  /** Loaded through the management API although the version policy would not serve them. */
  extraVersions: Set<string>
  /** Set through the management API; cleared when that version stops being served. */
  defaultVersion?: string
  /** workers / batch changed at run time; applied to every later load of the model too. */
  settings?: ModelSettings
}

export const noOverrides = (): Overrides => ({ unloadedVersions: new Set(), extraVersions: new Set() })

/** The file's form of the overrides: empty fields and models without changes left out. */
export function toSaved(all: ReadonlyMap<string, Overrides>): Record<string, SavedModel> {
  const out: Record<string, SavedModel> = {}
  for (const [name, o] of [...all].sort(([a], [b]) => a.localeCompare(b))) {
    const saved: SavedModel = {
      ...(o.unloaded ? { unloaded: true } : {}),
      ...(o.unloadedVersions.size > 0 ? { unloadedVersions: [...o.unloadedVersions].sort() } : {}),
      ...(o.extraVersions.size > 0 ? { extraVersions: [...o.extraVersions].sort() } : {}),
      ...(o.defaultVersion !== undefined ? { defaultVersion: o.defaultVersion } : {}),
      ...(o.settings ? { settings: o.settings } : {}),
    }
    if (Object.keys(saved).length > 0) out[name] = saved
  }
  return out
}

const validate = new Ajv({ allErrors: false, strict: false }).compile<StateFile>(StateFile)

/** `adminStateFile`, else `dataDir/admin-state.json`; undefined when `adminStateFile: false` (memory only). */
export function adminStatePath(config: Readonly<Config>): string | undefined {
  if (config.adminStateFile === false) return undefined
  return resolve(config.adminStateFile ?? join(config.dataDir, 'admin-state.json'))
}

/**
 * The management API's changes on disk, so a restart keeps them: one small JSON file, replaced whole on every change
 * (temp file, fsync, rename, fsync of the folder), so a crash leaves the old file or the new one, never half of one.
 * A location that cannot be written costs one warning: the changes then live in memory only, as before.
 */
export class AdminStateFile {
  readonly path: string | undefined
  readonly #log: Logger
  #writes: Promise<void> = Promise.resolve()
  #warned = false

  constructor(path: string | undefined, log: Logger) {
    this.path = path
    this.#log = log
  }

  /** The saved changes by model name; a missing file is none, an unreadable one is set aside and logged. */
  async read(): Promise<Record<string, SavedModel>> {
    if (!this.path) return {}
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {}
      this.#log.warn(
        { path: this.path, err: error },
        'admin state file cannot be read: starting with the repository defaults',
      )
      return {}
    }
    let problem: string
    try {
      const parsed: unknown = JSON.parse(text)
      if (validate(parsed)) return parsed.models
      const e = validate.errors?.[0]
      problem = `${e?.instancePath || '/'} ${e?.message ?? 'is invalid'}`
    } catch (error) {
      problem = (error as Error).message
    }
    // kept for a look, as the job log keeps its corrupt copy; the next admin change writes a fresh file
    const aside = `${this.path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`
    const kept = await rename(this.path, aside).then(
      () => aside,
      () => undefined,
    )
    this.#log.error(
      { path: this.path, problem, keptAs: kept ?? null },
      'admin state file is corrupt: ignored, starting with the repository defaults',
    )
    return {}
  }

  /** Replace the file with `models`; resolves once it is durable (or once writing it failed and was logged). */
  save(models: Record<string, SavedModel>): Promise<void> {
    const path = this.path
    if (!path) return Promise.resolve()
    const state: StateFile = { format: 1, savedAt: new Date().toISOString(), models }
    const text = `${JSON.stringify(state, null, 2)}\n`
    this.#writes = this.#writes.then(() =>
      writeAtomically(path, text).then(
        () => undefined,
        (error: unknown) => {
          // one warning: every later change would fail the same way
          if (!this.#warned)
            this.#log.warn(
              { path, err: error },
              'admin state file cannot be written: management API changes are kept in memory only (a restart forgets them)',
            )
          this.#warned = true
        },
      ),
    )
    return this.#writes
  }
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const folder = dirname(path)
  await mkdir(folder, { recursive: true })
  const temp = `${path}.${process.pid}.tmp`
  const file = await open(temp, 'w', 0o644)
  try {
    await file.writeFile(text)
    await file.sync()
  } finally {
    await file.close()
  }
  await rename(temp, path)
  // the rename itself is durable only once the folder is synced
  const dir = await open(folder, 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}
