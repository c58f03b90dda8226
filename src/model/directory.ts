import { readFile, readdir, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { Ajv } from 'ajv'
import { Type, type Static } from 'typebox'
import { parse as parseYaml } from 'yaml'
import { allowedFor, keyOf, mostSpecific } from '../config/explain.js'
import { ModelSettings } from '../config/schema.js'
import { unsafeKeyMessage, unsafeKeyPath } from '../config/unsafe-keys.js'
import { type ModelDescriptor, NO_BATCHING } from './descriptor.js'
import { ModelLoadError } from './load-error.js'
import { loadHandlerDescriptor } from './handler.js'
import { withInputNames } from './input-names.js'
import { labelledOutputSchema } from './labels.js'
import { loadOnnxDescriptor } from './onnx.js'
import { preprocessedInputSchema } from './preprocess-check.js'
import { Preprocess } from './preprocess-spec.js'

export const MODEL_FILE = 'carafe.yaml'
const MODEL_FILE_NAMES = ['model.onnx', 'model.ts', 'model.js', 'model.mjs']

/** Which numbered version folders serve: the highest (default), the N highest, or the ones listed. */
export const VersionPolicy = Type.Union([
  Type.Literal('latest'),
  Type.Object({ latest: Type.Integer({ minimum: 1, maximum: 64 }) }, { additionalProperties: false }),
  Type.Object(
    { specific: Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, maxItems: 64 }) },
    { additionalProperties: false },
  ),
])
export type VersionPolicy = Static<typeof VersionPolicy>

export const ModelDirConfig = Type.Object(
  {
    name: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' })),
    description: Type.Optional(Type.String()),
    model: Type.Optional(
      Type.String({ description: 'model file inside the version folder; default model.onnx, model.ts or model.js' }),
    ),
    labels: Type.Optional(Type.Array(Type.String(), { minItems: 1 })),
    inputNames: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 128 }), {
        minItems: 1,
        description: 'names of the values of an array instance, in order (form labels, OpenAPI, V2 metadata)',
      }),
    ),
    examples: Type.Optional(Type.Array(Type.Unknown())),
    preprocess: Type.Optional(Preprocess),
    requires: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description: 'model paths (relative to this folder) served alongside, e.g. the models a composed handler calls',
      }),
    ),
    versionPolicy: Type.Optional(VersionPolicy),
    ...ModelSettings.properties,
  },
  { additionalProperties: false },
)
export type ModelDirConfig = Static<typeof ModelDirConfig>

const validateDirConfig = new Ajv({ strict: false, coerceTypes: false }).compile<ModelDirConfig>(ModelDirConfig)

/** A model directory: carafe.yaml plus version folders 1/, 2/, …; one descriptor per version its versionPolicy serves. */
export async function loadDirectoryDescriptors(dir: string): Promise<ModelDescriptor[]> {
  const config = await readDirConfig(join(dir, MODEL_FILE))
  const versions = selectVersions(await listVersions(dir), config.versionPolicy)
  if (versions.length === 0) return [await loadDirectoryDescriptor(dir, undefined, config)]
  return Promise.all(versions.map((v) => loadDirectoryDescriptor(dir, v, config)))
}

/** The versions a policy serves, highest first; a folder without versions serves its own files (none listed). */
export function selectVersions(available: string[], policy: VersionPolicy = 'latest'): string[] {
  const sorted = [...available].sort((a, b) => Number(b) - Number(a))
  if (policy === 'latest') return sorted.slice(0, 1)
  if ('latest' in policy) return sorted.slice(0, policy.latest)
  const wanted = new Set(policy.specific.map(String))
  return sorted.filter((v) => wanted.has(v))
}

/** The numbered version folders of a model directory. */
export async function listVersions(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true })
  return entries.filter((e) => e.isDirectory() && /^\d+$/.test(e.name)).map((e) => String(Number(e.name)))
}

/** One version of a model directory (`version` undefined: the directory has no version folders). */
export async function loadDirectoryDescriptor(
  dir: string,
  version: string | undefined,
  known?: ModelDirConfig,
): Promise<ModelDescriptor> {
  const configPath = join(dir, MODEL_FILE)
  const config = known ?? (await readDirConfig(configPath))
  const versionDir = version ? join(dir, version) : dir
  const file = await findModelFile(versionDir, config.model, configPath)
  const base = file.endsWith('.onnx')
    ? await loadOnnxDescriptor(file, config.name ?? dirName(dir))
    : await loadHandlerDescriptor(file)
  const {
    name,
    description,
    labels,
    inputNames,
    examples,
    model: _file,
    batch,
    requires,
    preprocess,
    versionPolicy: _policy,
    ...settings
  } = config
  const classify = labels !== undefined && base.source.kind === 'onnx'
  if (classify) checkLabelCount(labels, base, configPath)
  return {
    ...base,
    name: name ?? base.name,
    version: version ?? base.version,
    description: description ?? base.description,
    dir,
    labels: labels ?? base.labels,
    classify,
    output: classify ? labelledOutputSchema(labels) : base.output,
    examples: examples ?? base.examples,
    ...(inputNames ? { input: withInputNames(base.input, inputNames, configPath) } : {}),
    ...(preprocess
      ? {
          preprocess,
          input: preprocessedInputSchema(
            preprocess,
            base.input,
            base.source.kind === 'onnx' ? base.source.signature : undefined,
            configPath,
          ),
        }
      : {}),
    batch: batch === false ? NO_BATCHING : (batch ?? base.batch),
    settings,
    ...(requires ? { requires: requires.map((path) => resolve(dir, path)) } : {}),
  }
}

export async function readDirConfig(path: string): Promise<ModelDirConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    throw new ModelLoadError(path, 'file not found')
  }
  let value: unknown
  try {
    value = parseYaml(text) ?? {}
  } catch (error) {
    throw new ModelLoadError(path, `not valid YAML (${(error as Error).message.split('\n')[0]})`)
  }
  const unsafe = unsafeKeyPath(value)
  if (unsafe !== undefined) throw new ModelLoadError(path, unsafeKeyMessage(unsafe))
  if (!validateDirConfig(value)) {
    const error = mostSpecific(validateDirConfig.errors!)
    const extra = (error.params as { additionalProperty?: string }).additionalProperty
    const allowed = extra ? '' : allowedFor(ModelDirConfig, error)
    throw new ModelLoadError(
      path,
      `${keyOf(error)} ${extra ? 'is not a known key' : error.keyword === 'const' ? 'is not one of the allowed values' : error.message}${allowed ? ` (${allowed})` : ''}`,
    )
  }
  return value
}

async function findModelFile(dir: string, named: string | undefined, configPath: string): Promise<string> {
  for (const candidate of named ? [named] : MODEL_FILE_NAMES) {
    const path = join(dir, candidate)
    if (await isFile(path)) return path
  }
  throw new ModelLoadError(configPath, `no model file in ${dir} (looked for ${named ?? MODEL_FILE_NAMES.join(', ')})`)
}

function checkLabelCount(labels: string[], base: ModelDescriptor, configPath: string): void {
  if (base.source.kind !== 'onnx') return
  const { outputs, batched } = base.source.signature
  const last = outputs[0].dims.at(-1)
  const rank = outputs[0].dims.length - (batched ? 1 : 0)
  if (outputs.length !== 1 || rank !== 1 || (last != null && last !== labels.length)) {
    throw new ModelLoadError(
      configPath,
      `labels: ${labels.length} labels need one output of ${labels.length} scores per instance`,
    )
  }
}

export async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  )
}

function dirName(dir: string): string {
  return dir.replace(/\/+$/, '').split('/').pop() ?? 'model'
}
