import { readdir, stat } from 'node:fs/promises'
import { extname, join, resolve } from 'node:path'
import type { ModelDescriptor } from './descriptor.js'
import { ModelLoadError } from './load-error.js'
import { MODEL_FILE, isFile, loadDirectoryDescriptors } from './directory.js'
import { loadHandlerDescriptor } from './handler.js'
import { loadOnnxDescriptor } from './onnx.js'

const HANDLER_EXTENSIONS = new Set(['.ts', '.mts', '.js', '.mjs'])

/**
 * What `carafe serve <path>` accepts: an .onnx file, a handler module, a model directory (carafe.yaml),
 * or a repository directory whose sub-folders are model directories.
 */
export async function loadModels(path: string): Promise<ModelDescriptor[]> {
  return withRequired(await loadPath(path), new Set([resolve(path)]))
}

/** Adds the models each descriptor `requires`, once each, following chains (a cycle stops at a path already seen). */
async function withRequired(descriptors: ModelDescriptor[], seen: Set<string>): Promise<ModelDescriptor[]> {
  const out = [...descriptors]
  for (const descriptor of descriptors) {
    for (const path of descriptor.requires ?? []) {
      if (seen.has(path)) continue
      seen.add(path)
      out.push(...(await withRequired(await loadPath(path), seen)))
    }
  }
  return out
}

async function loadPath(path: string): Promise<ModelDescriptor[]> {
  const absolute = resolve(path)
  const info = await stat(absolute).catch(() => undefined)
  if (!info) throw new ModelLoadError(path, 'file not found')
  if (info.isFile()) {
    const ext = extname(absolute)
    if (ext === '.onnx') return [await loadOnnxDescriptor(absolute)]
    if (HANDLER_EXTENSIONS.has(ext)) return [await loadHandlerDescriptor(absolute)]
    throw new ModelLoadError(
      path,
      `unsupported file type "${ext}" (serve an .onnx file, a .ts/.js handler module or a model directory)`,
    )
  }
  if (await isFile(join(absolute, MODEL_FILE))) return loadDirectoryDescriptors(absolute)
  const entries = await readdir(absolute, { withFileTypes: true })
  const children = entries.filter((e) => e.isDirectory()).map((e) => join(absolute, e.name))
  const modelDirs = []
  for (const child of children) if (await isFile(join(child, MODEL_FILE))) modelDirs.push(child)
  if (modelDirs.length === 0)
    throw new ModelLoadError(path, `not a model directory (no ${MODEL_FILE}) and holds no model directories`)
  return (await Promise.all(modelDirs.sort().map(loadDirectoryDescriptors))).flat()
}

/** The model directories a served path holds: itself when it has a carafe.yaml, else its sub-folders that do. */
export async function modelDirsIn(path: string): Promise<string[]> {
  const absolute = resolve(path)
  const info = await stat(absolute).catch(() => undefined)
  if (!info?.isDirectory()) return []
  if (await isFile(join(absolute, MODEL_FILE))) return [absolute]
  const entries = await readdir(absolute, { withFileTypes: true }).catch(() => [])
  const dirs = []
  for (const e of entries)
    if (e.isDirectory() && (await isFile(join(absolute, e.name, MODEL_FILE)))) dirs.push(join(absolute, e.name))
  return dirs.sort()
}

/** One descriptor per model name, the highest version (what a request without a version reaches at start). */
export function oneVersionEach(descriptors: ModelDescriptor[]): ModelDescriptor[] {
  const byName = new Map<string, ModelDescriptor>()
  for (const d of descriptors) {
    const seen = byName.get(d.name)
    if (!seen || Number(d.version) > Number(seen.version)) byName.set(d.name, d)
  }
  return descriptors.filter((d) => byName.get(d.name) === d)
}
