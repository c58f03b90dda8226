// JSON Schema → a TypeScript type expression, for the schema features Carafe's models use (docs/DESIGN-NOTES.md,
// "Client code generation"). What it cannot express exactly (numeric ranges, array lengths, patterns) goes into JSDoc;
// the server still validates every request.

type Schema = Record<string, unknown>

const isSchema = (value: unknown): value is Schema =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** The TypeScript type of values matching `schema`; `indent` is the indentation of the line the type starts on. */
export function schemaToTs(schema: unknown, indent = ''): string {
  if (schema === false) return 'never'
  if (!isSchema(schema)) return 'unknown' // `true`, a missing schema, or not a schema at all
  const type = baseType(schema, indent)
  return schema.nullable === true ? union([type, 'null']) : type // [compat] OpenAPI 3.0's nullable
}

function baseType(s: Schema, indent: string): string {
  // The server takes an image as base64 or a data URL (both strings) or {b64}; multipart is not a JSON client's concern.
  if (s['x-carafe-image'] === true) return 'string | { b64: string }'
  if ('const' in s) return literal(s.const)
  if (Array.isArray(s.enum)) return union(s.enum.map(literal))
  if (Array.isArray(s.oneOf)) return union(s.oneOf.map((member) => schemaToTs(member, indent)))
  if (Array.isArray(s.anyOf)) return union(s.anyOf.map((member) => schemaToTs(member, indent)))
  if (Array.isArray(s.allOf)) return s.allOf.map((member) => parenthesize(schemaToTs(member, indent))).join(' & ')
  const types = Array.isArray(s.type) ? (s.type as unknown[]) : typeof s.type === 'string' ? [s.type] : impliedTypes(s)
  if (types.length === 0) return 'unknown' // {} or a $ref: anything goes
  return union(
    types.map((type) => {
      switch (type) {
        case 'string':
          return 'string'
        case 'number':
        case 'integer':
          return 'number'
        case 'boolean':
          return 'boolean'
        case 'null':
          return 'null'
        case 'array':
          return arrayType(s, indent)
        case 'object':
          return objectType(s, indent)
        default:
          return 'unknown'
      }
    }),
  )
}

/** A schema without `type` that still says what it is by its keywords (TypeBox and hand-written schemas both do this). */
function impliedTypes(s: Schema): string[] {
  if ('properties' in s || 'additionalProperties' in s || 'required' in s) return ['object']
  if ('items' in s || 'prefixItems' in s) return ['array']
  return []
}

function arrayType(s: Schema, indent: string): string {
  // A tuple: `prefixItems` (2020-12) or an `items` array (draft-07); anything after it follows `items`/`additionalItems`.
  const tuple = Array.isArray(s.prefixItems) ? s.prefixItems : Array.isArray(s.items) ? s.items : undefined
  if (tuple) {
    const rest = Array.isArray(s.prefixItems) ? s.items : s.additionalItems
    const members = tuple.map((item) => schemaToTs(item, indent))
    if (rest !== false) members.push(`...${parenthesize(schemaToTs(rest, indent))}[]`)
    return `[${members.join(', ')}]`
  }
  // Fixed lengths stay `T[]`, not tuples: a computed `number[]` must be assignable, and the length is in the JSDoc.
  return `${parenthesize(schemaToTs(s.items, indent))}[]`
}

function objectType(s: Schema, indent: string): string {
  const properties = isSchema(s.properties) ? s.properties : {}
  const required = new Set(Array.isArray(s.required) ? s.required : [])
  const inner = indent + '  '
  const lines: string[] = []
  const propertyTypes: string[] = []
  for (const [name, property] of Object.entries(properties)) {
    const type = schemaToTs(property, inner)
    propertyTypes.push(type)
    lines.push(docComment(property, inner) + `${inner}${propertyKey(name)}${required.has(name) ? '' : '?'}: ${type}`)
  }
  // An unstated additionalProperties counts as closed: a typo when reading a prediction should not compile.
  const extra = [
    s.additionalProperties,
    ...(isSchema(s.patternProperties) ? Object.values(s.patternProperties) : []),
  ].filter((value) => value !== undefined && value !== false)
  const open = extra.length > 0 || (lines.length === 0 && s.additionalProperties === undefined)
  if (open) {
    // TypeScript wants every declared property to fit the index signature, so its type covers them too.
    const values = extra.length > 0 ? extra.map((value) => schemaToTs(value, inner)) : ['unknown']
    lines.push(`${inner}[key: string]: ${union([...values, ...propertyTypes])}`)
  }
  if (lines.length === 0) return 'Record<string, never>'
  return `{\n${lines.join('\n')}\n${indent}}`
}

/** A `/** … *\/` block (with a trailing newline) from the schema's description and what the type cannot say; '' when there is nothing. */
export function docComment(schema: unknown, indent = '', lead: string[] = [], tail: string[] = []): string {
  const s = isSchema(schema) ? schema : {}
  const notes = constraintNotes(s)
  const description = typeof s.description === 'string' ? s.description.trim() : ''
  const text = [...lead, ...(description ? description.split('\n') : []), ...(notes ? [notes] : []), ...tail].map(
    (line) => line.replaceAll('*/', '*\\/'),
  )
  if (text.length === 0) return ''
  if (text.length === 1) return `${indent}/** ${text[0]} */\n`
  return `${indent}/**\n${text.map((line) => `${indent} *${line ? ' ' + line : ''}`).join('\n')}\n${indent} */\n`
}

/** Integer-ness, ranges, array shapes, encodings and defaults, as one short sentence. */
function constraintNotes(s: Schema): string {
  const notes: string[] = []
  const types = Array.isArray(s.type) ? s.type : [s.type]
  if (types.includes('integer')) notes.push('integer')
  const range = rangeNote(s)
  if (range) notes.push(range)
  if (types.includes('array') || 'items' in s) {
    const shape = arrayShape(s)
    if (shape) notes.push(shape)
    if (innermostItems(s).type === 'integer') notes.push('integers') // an int64 tensor is `number[]` in TypeScript
  }
  if (typeof s.contentEncoding === 'string') notes.push(s.contentEncoding)
  if (typeof s.format === 'string') notes.push(`format ${s.format}`)
  if (typeof s.pattern === 'string') notes.push(`pattern /${s.pattern}/`)
  if ('default' in s) notes.push(`default ${JSON.stringify(s.default)}`)
  if (notes.length === 0) return ''
  const sentence = notes.join(', ')
  return sentence[0].toUpperCase() + sentence.slice(1) + '.'
}

function rangeNote(s: Schema): string {
  const low =
    typeof s.minimum === 'number'
      ? `≥ ${s.minimum}`
      : typeof s.exclusiveMinimum === 'number'
        ? `> ${s.exclusiveMinimum}`
        : ''
  const high =
    typeof s.maximum === 'number'
      ? `≤ ${s.maximum}`
      : typeof s.exclusiveMaximum === 'number'
        ? `< ${s.exclusiveMaximum}`
        : ''
  if (typeof s.minimum === 'number' && typeof s.maximum === 'number') return `from ${s.minimum} to ${s.maximum}`
  return [low, high].filter(Boolean).join(' and ')
}

/** "4 items", "1 to 1024 items", or for nested arrays a shape such as "shape 4 × 2" / "shape n × 3" (n: any length ≥ 1). */
function arrayShape(s: Schema): string {
  const counts: string[] = []
  for (
    let level: unknown = s;
    isSchema(level) && (level.type === 'array' || 'items' in level) && !Array.isArray(level.items);
    level = level.items
  ) {
    const min = typeof level.minItems === 'number' ? level.minItems : undefined
    const max = typeof level.maxItems === 'number' ? level.maxItems : undefined
    counts.push(
      min !== undefined && min === max
        ? String(min)
        : min === undefined && max === undefined
          ? ''
          : `${min ?? 0}..${max ?? 'n'}`,
    )
  }
  if (counts.length === 0 || counts.every((c) => c === '')) return ''
  if (counts.length === 1) {
    const [min, max] = [s.minItems, s.maxItems]
    if (min === max) return `${min} items`
    if (max === undefined) return `at least ${min} item${min === 1 ? '' : 's'}`
    return `${min ?? 0} to ${max} items`
  }
  return `shape ${counts.map((c) => (c === '' || c === '1..n' ? 'n' : c)).join(' × ')}`
}

function innermostItems(s: Schema): Schema {
  let level = s
  while (isSchema(level.items)) level = level.items
  return level
}

function literal(value: unknown): string {
  // JSON is valid TypeScript type syntax for every JSON value: strings, numbers, true/false/null, object and tuple literals.
  return JSON.stringify(value) ?? 'unknown'
}

function propertyKey(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name)
}

/** Members joined with `|`, without repeats; `unknown` absorbs everything. */
function union(members: string[]): string {
  const unique = [...new Set(members)]
  if (unique.includes('unknown')) return 'unknown'
  if (unique.length === 0) return 'never'
  return unique.join(' | ')
}

/** Wrap a union or intersection in parentheses where a tighter operator follows (`T[]`, `A & B`). */
function parenthesize(type: string): string {
  return hasTopLevelOperator(type) ? `(${type})` : type
}

function hasTopLevelOperator(type: string): boolean {
  let depth = 0
  for (let i = 0; i < type.length; i++) {
    const c = type[i]
    if (c === '"') {
      for (i++; i < type.length && type[i] !== '"'; i++) if (type[i] === '\\') i++ // skip a string literal
    } else if ('{[(<'.includes(c)) depth++
    else if ('}])>'.includes(c)) depth--
    else if (depth === 0 && (c === '|' || c === '&')) return true
  }
  return false
}
