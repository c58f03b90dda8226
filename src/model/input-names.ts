import type { JsonSchema } from './contract.js'
import { ModelLoadError } from './load-error.js'

/**
 * carafe.yaml `inputNames`: names for the values of an instance that is a fixed-length array (iris: four
 * measurements). The schema keeps its type, so clients still send a plain array; the names ride along as
 * `x-carafe-names` (the playground's labels) and in the description (OpenAPI, generated clients).
 */
export function withInputNames(input: JsonSchema, names: readonly string[], configPath: string): JsonSchema {
  const schema = input as { type?: unknown; minItems?: unknown; maxItems?: unknown; description?: unknown }
  if (schema.type !== 'array' || schema.minItems !== names.length || schema.maxItems !== names.length) {
    throw new ModelLoadError(
      configPath,
      `inputNames: ${names.length} names need an instance that is an array of exactly ${names.length} values`,
    )
  }
  const repeated = names.find((name, i) => names.indexOf(name) !== i)
  if (repeated !== undefined) throw new ModelLoadError(configPath, `inputNames: "${repeated}" is named twice`)
  const columns = `Values in order: ${names.join(', ')}.`
  return {
    ...input,
    description: typeof schema.description === 'string' ? `${schema.description} ${columns}` : columns,
    'x-carafe-names': [...names],
  }
}
