import type { ErrorObject } from 'ajv'

// biome-ignore lint/suspicious/noExplicitAny: a JSON Schema walked by key; every read is checked before use
type Schema = Record<string, any>

/** The dotted key an Ajv error is about: `port`, `models.iris.batch.maxSize`, or the unknown key itself. */
export function keyOf(error: ErrorObject): string {
  const path = error.instancePath.split('/').slice(1)
  const extra = (error.params as { additionalProperty?: string }).additionalProperty
  if (extra !== undefined) path.push(extra)
  return path.join('.') || '(root)'
}

/** Of Ajv's errors for one value, the one to show: the deepest, since a union reports each branch's complaint. */
export function mostSpecific(errors: ErrorObject[]): ErrorObject {
  return errors.reduce((best, e) => (keyOf(e).split('.').length > keyOf(best).split('.').length ? e : best))
}

/** What a key allows, read from the schema itself so the message never drifts from it. */
export function allowedFor(root: Schema, error: ErrorObject): string {
  const parent = schemaAt(root, error.instancePath.split('/').slice(1))
  if (error.keyword === 'additionalProperties') {
    const keys = Object.keys(parent?.properties ?? {})
    return keys.length ? `allowed keys: ${keys.join(', ')}` : 'no other keys are allowed'
  }
  return parent ? describe(parent) : ''
}

function schemaAt(schema: Schema | undefined, path: string[]): Schema | undefined {
  for (const part of path) {
    if (!schema) return undefined
    // a union of objects (carafe.yaml's two kinds of resize): the branch that has this key
    const branch = Array.isArray(schema.anyOf) ? schema.anyOf.find((s: Schema) => s.properties?.[part]) : undefined
    if (branch) schema = branch.properties[part]
    else if (schema.properties?.[part]) schema = schema.properties[part]
    else if (schema.patternProperties) schema = Object.values(schema.patternProperties)[0] as Schema
    else if (schema.items) schema = schema.items
    else return undefined
  }
  return schema
}

function describe(schema: Schema): string {
  if (Array.isArray(schema.anyOf) && schema.anyOf.every((s: Schema) => 'const' in s)) {
    return `allowed: ${schema.anyOf.map((s: Schema) => JSON.stringify(s.const)).join(', ')}`
  }
  if (Array.isArray(schema.anyOf))
    return `allowed: ${schema.anyOf.map((s: Schema) => ('const' in s ? JSON.stringify(s.const) : describe(s).replace(/^allowed: /, ''))).join(' or ')}`
  const type =
    schema.type === 'integer'
      ? 'an integer'
      : schema.type === 'number'
        ? 'a number'
        : schema.type === 'boolean'
          ? 'true or false'
          : schema.type === 'string'
            ? 'a string'
            : schema.type === 'array'
              ? `a list${schema.items?.type ? ` of ${schema.items.type}s` : ''}`
              : schema.type === 'object'
                ? 'a map'
                : 'a value'
  const range =
    schema.minimum !== undefined && schema.maximum !== undefined
      ? ` from ${schema.minimum} to ${schema.maximum}`
      : schema.minimum !== undefined
        ? ` ≥ ${schema.minimum}`
        : schema.maximum !== undefined
          ? ` ≤ ${schema.maximum}`
          : ''
  const length = schema.minLength
    ? ` of at least ${schema.minLength} characters`
    : schema.items?.minLength
      ? ` (each at least ${schema.items.minLength} characters)`
      : ''
  return `allowed: ${type}${range}${length}`
}
