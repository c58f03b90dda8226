import { dirname } from 'node:path'
import { access } from 'node:fs/promises'
import { definitionProblem, type ModelDefinition } from './contract.js'
import { NO_BATCHING, type ModelDescriptor } from './descriptor.js'
import { ModelLoadError } from './load-error.js'
import { importModule } from './import-module.js'

/** Import a handler module and return its definition, or a one-line error naming the file. */
export async function importDefinition(path: string): Promise<ModelDefinition> {
  try {
    await access(path)
  } catch {
    throw new ModelLoadError(path, 'file not found')
  }
  let module: Record<string, unknown>
  try {
    module = await importModule(path)
  } catch (error) {
    throw new ModelLoadError(path, `cannot import the module (${firstLine(error)})`)
  }
  // tsx may wrap a CommonJS-shaped default in another default
  let definition = module.default as unknown
  if (definition && typeof definition === 'object' && 'default' in definition && !('predict' in definition))
    definition = (definition as { default: unknown }).default
  const problem = definitionProblem(definition)
  if (problem) throw new ModelLoadError(path, problem)
  return definition as ModelDefinition
}

export async function loadHandlerDescriptor(path: string): Promise<ModelDescriptor> {
  const definition = await importDefinition(path)
  return {
    name: definition.name,
    version: definition.version ?? '1',
    description: definition.description ?? '',
    dir: dirname(path),
    source: { kind: 'handler', path },
    input: definition.input,
    // a handler's labels describe its classes; it shapes its own output
    output: definition.output,
    labels: definition.labels,
    examples: definition.examples ?? [],
    batch: definition.batch ?? NO_BATCHING,
    settings: {},
  }
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0]
}
