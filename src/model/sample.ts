import type { JsonSchema } from './contract.js'

/** A smallest valid-looking instance for warm-up when a model ships no example; undefined when the schema is too open to guess. */
export function sampleInstance(schema: JsonSchema): unknown {
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0]
  switch (schema.type) {
    case 'number':
    case 'integer':
      return typeof schema.minimum === 'number' ? schema.minimum : 0
    case 'boolean':
      return false
    case 'string':
      return 'a'.repeat(typeof schema.minLength === 'number' ? schema.minLength : 1)
    case 'array': {
      const item = sampleInstance((schema.items ?? {}) as JsonSchema)
      if (item === undefined) return undefined
      const length = typeof schema.minItems === 'number' ? Math.max(1, schema.minItems) : 1
      return Array.from({ length }, () => structuredClone(item))
    }
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>
      const out: Record<string, unknown> = {}
      for (const key of (schema.required ?? []) as string[]) {
        const value = sampleInstance(properties[key] ?? {})
        if (value === undefined) return undefined
        out[key] = value
      }
      return out
    }
    default:
      return undefined
  }
}
