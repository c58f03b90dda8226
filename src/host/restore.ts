import { basename, join, resolve } from 'node:path'
import { type Config, withSettings } from '../config/index.js'
import {
  listVersions,
  loadDirectoryDescriptor,
  MODEL_FILE,
  modelDirsIn,
  readDirConfig,
  type Logger,
  type ModelDescriptor,
} from '../model/index.js'
import { noOverrides, type Overrides, type SavedModel } from './admin-state.js'

export interface Restored {
  /** What the server starts with: the repository's models with the saved changes applied. */
  descriptors: ModelDescriptor[]
  overrides: Map<string, Overrides>
  /** Something saved no longer matched the repository and was left out: the file should be rewritten. */
  dropped: boolean
}

/**
 * The saved management API changes, checked against the repository as it is now and applied to the descriptors the
 * server starts with, so an unloaded model never loads, a version loaded on demand loads with the others, and PATCHed
 * settings are the first ones used. A change naming a model or version that is gone is dropped with a log line.
 */
export async function restoreOverrides({
  saved,
  descriptors,
  paths,
  config,
  log,
}: {
  saved: Record<string, SavedModel>
  descriptors: ModelDescriptor[]
  paths: string[]
  config: Readonly<Config>
  log: Logger
}): Promise<Restored> {
  const overrides = new Map<string, Overrides>()
  let dropped = false
  const drop = (fields: Record<string, unknown>, why: string) => {
    dropped = true
    log.warn(fields, `admin state: saved change dropped, ${why}`)
  }
  if (Object.keys(saved).length === 0) return { descriptors, overrides, dropped }
  const dirs = await modelFolders(descriptors, paths)
  for (const [name, s] of Object.entries(saved)) {
    const dir = dirs.get(name)
    const versions = dir
      ? await listVersions(dir).catch(() => [])
      : descriptors.filter((d) => d.name === name).map((d) => d.version)
    if (!dir && versions.length === 0) {
      drop({ model: name }, 'no such model is served any more')
      continue
    }
    const o = noOverrides()
    if (s.unloaded) {
      if (dir) o.unloaded = true
      else drop({ model: name, unloaded: true }, 'the model has no folder to load it back from')
    }
    for (const v of s.unloadedVersions ?? []) {
      if (versions.includes(v)) o.unloadedVersions.add(v)
      else drop({ model: name, unloadedVersion: v }, 'the version folder is gone')
    }
    for (const v of s.extraVersions ?? []) {
      if (dir && versions.includes(v)) o.extraVersions.add(v)
      else drop({ model: name, extraVersion: v }, 'the version folder is gone')
    }
    if (s.settings) o.settings = s.settings
    overrides.set(name, o)
  }

  const kept = descriptors.filter((d) => {
    const o = overrides.get(d.name)
    return !o || (!o.unloaded && !o.unloadedVersions.has(d.version))
  })
  for (const [name, o] of overrides) {
    const dir = dirs.get(name)
    if (!dir || o.unloaded) continue
    for (const v of o.extraVersions) {
      if (o.unloadedVersions.has(v) || kept.some((d) => d.name === name && d.version === v)) continue
      try {
        kept.push(withSettings(await loadDirectoryDescriptor(dir, v), config.models?.[name]))
      } catch (error) {
        o.extraVersions.delete(v)
        drop({ model: name, extraVersion: v, err: error }, 'the version cannot be read')
      }
    }
  }
  const served = kept.map((d) => withSettings(d, overrides.get(d.name)?.settings))

  for (const [name, s] of Object.entries(saved)) {
    const o = overrides.get(name)
    if (!o || s.defaultVersion === undefined) continue
    if (served.some((d) => d.name === name && d.version === s.defaultVersion)) o.defaultVersion = s.defaultVersion
    else drop({ model: name, defaultVersion: s.defaultVersion }, 'that version is not served')
  }
  log.info({ models: [...overrides.keys()] }, 'admin state: management API changes from before the restart applied')
  return { descriptors: served, overrides, dropped }
}

/** Model name → its folder, for every model folder under the served paths (named as the repository names them). */
async function modelFolders(descriptors: ModelDescriptor[], paths: string[]): Promise<Map<string, string>> {
  const byDir = new Map<string, string>()
  for (const d of descriptors) byDir.set(resolve(d.dir), d.name)
  const out = new Map<string, string>()
  for (const path of paths) {
    for (const dir of await modelDirsIn(path)) {
      const configured = await readDirConfig(join(dir, MODEL_FILE)).then(
        (c) => c.name,
        () => undefined,
      )
      out.set(configured ?? byDir.get(dir) ?? basename(dir), dir)
    }
  }
  return out
}
