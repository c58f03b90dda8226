import type { JsonSchema } from './contract.js'

// An 8x8 white PNG: a warm-up image for image fields (decodes, resizes and runs like any other).
const WHITE_8X8_PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAAD0lEQVQImWP4jwMwDC0JALoev0GybL49AAAAAElFTkSuQmCC'

/** A smallest valid-looking instance for warm-up when a model ships no example; undefined when the schema is too open to guess. */
export function sampleInstance(schema: JsonSchema): unknown {
  if (schema['x-carafe-image'] === true) return WHITE_8X8_PNG
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0]
  switch (schema.type) {
    case 'number':
    case 'integer':
      // 0 when the range allows it (a float32 input's range is ±3.4e38: its minimum would overflow the model), else the nearer bound
      return typeof schema.minimum === 'number' && schema.minimum > 0
        ? schema.minimum
        : typeof schema.maximum === 'number' && schema.maximum < 0
          ? schema.maximum
          : 0
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
