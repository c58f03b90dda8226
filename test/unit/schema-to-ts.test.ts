import assert from 'node:assert/strict'
import { it } from 'node:test'
import ts from 'typescript'
import { clientModule, docComment, schemaToTs, typeStem } from '../../src/codegen/index.js'
import { imageSchema } from '../../src/model/image.js'
import { labelledOutputSchema } from '../../src/model/labels.js'
import { instanceSchema, type OnnxSignature } from '../../src/model/onnx-schema.js'

/** The text must parse as TypeScript (syntax only; the integration test type-checks a whole generated module). */
function assertParses(source: string): void {
  const out = ts.transpileModule(source, {
    reportDiagnostics: true,
    compilerOptions: { target: ts.ScriptTarget.ES2022 },
  })
  assert.deepEqual(
    out.diagnostics?.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    [],
    source,
  )
}
const typeOf = (schema: unknown) => {
  const type = schemaToTs(schema)
  assertParses(`type T = ${type}`)
  return type
}

it('ONNX tensor schemas become nested number arrays, with the shape in the JSDoc', () => {
  const signature: OnnxSignature = {
    inputs: [{ name: 'pixels', type: 'float32', dims: [null, 3, 224, 224] }],
    outputs: [{ name: 'logits', type: 'float32', dims: [null, 1000] }],
    batched: true,
  }
  const input = instanceSchema(signature)
  assert.equal(typeOf(input), 'number[][][]')
  assert.equal(docComment(input), '/** Shape 3 × 224 × 224. */\n')
  assert.equal(typeOf(instanceSchema(signature, 'outputs')), 'number[]')
  assert.equal(docComment(instanceSchema(signature, 'outputs')), '/** 1000 items. */\n')
  // several inputs: an object keyed by input name; integers are numbers, booleans booleans; dynamic dims read "n"
  const several = instanceSchema({
    inputs: [
      { name: 'input_ids', type: 'int64', dims: [null, null] },
      { name: 'attention-mask', type: 'bool', dims: [null, null, 2] },
    ],
    outputs: [],
    batched: true,
  })
  assert.equal(
    typeOf(several),
    '{\n  /** At least 1 item, integers. */\n  input_ids: number[]\n  /** Shape n × 2. */\n  "attention-mask": boolean[][]\n}',
  )
})

it("a labelled classifier's output has label (one of the labels) and probabilities by label", () => {
  const type = typeOf(labelledOutputSchema(['setosa', 'Iris virginica']))
  assert.equal(
    type,
    [
      '{',
      '  label: "setosa" | "Iris virginica"',
      '  probabilities: {',
      '    setosa: number',
      '    "Iris virginica": number',
      '  }',
      '}',
    ].join('\n'),
  )
})

it('image fields marked x-carafe-image are a base64 / data URL string or {b64}', () => {
  assert.equal(typeOf(imageSchema()), 'string | { b64: string }')
  // whatever the field's own oneOf says, the mark decides
  assert.equal(typeOf({ 'x-carafe-image': true, type: 'string' }), 'string | { b64: string }')
  const instance = {
    type: 'object',
    properties: { image: imageSchema('the photo'), crop: { type: 'boolean' } },
    required: ['image'],
  }
  assert.equal(typeOf(instance), '{\n  /** the photo */\n  image: string | { b64: string }\n  crop?: boolean\n}')
})

it('objects: required vs optional, additionalProperties closed / open / typed, odd keys quoted', () => {
  assert.equal(
    typeOf({ type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false }),
    '{\n  a: string\n}',
  )
  // unstated additionalProperties counts as closed, so reading a misspelt field does not compile
  assert.equal(typeOf({ type: 'object', properties: { a: { type: 'string' } } }), '{\n  a?: string\n}')
  assert.equal(
    typeOf({ type: 'object', properties: { a: { type: 'string' } }, additionalProperties: true }),
    '{\n  a?: string\n  [key: string]: unknown\n}',
  )
  // the index signature must admit the declared properties too
  assert.equal(
    typeOf({ type: 'object', properties: { n: { type: 'integer' } }, additionalProperties: { type: 'string' } }),
    '{\n  /** Integer. */\n  n?: number\n  [key: string]: string | number\n}',
  )
  assert.equal(typeOf({ type: 'object', additionalProperties: { type: 'number' } }), '{\n  [key: string]: number\n}')
  assert.equal(typeOf({ type: 'object' }), '{\n  [key: string]: unknown\n}')
  assert.equal(typeOf({ type: 'object', additionalProperties: false }), 'Record<string, never>')
  assert.equal(
    typeOf({ properties: { 'x-y': { const: 1 }, $ok: {} }, required: ['x-y'] }),
    '{\n  "x-y": 1\n  $ok?: unknown\n}',
  )
})

it('enum and const become literal unions; oneOf/anyOf unions; allOf intersections', () => {
  assert.equal(typeOf({ type: 'string', enum: ['a', 'b|c', 'say "hi"'] }), '"a" | "b|c" | "say \\"hi\\""')
  assert.equal(typeOf({ enum: [1, true, null, 'x'] }), '1 | true | null | "x"')
  assert.equal(typeOf({ const: 'only' }), '"only"')
  assert.equal(typeOf({ oneOf: [{ type: 'number' }, { type: 'string' }, { type: 'number' }] }), 'number | string')
  assert.equal(typeOf({ anyOf: [{ type: 'integer' }, {}] }), 'unknown')
  assert.equal(
    typeOf({
      allOf: [
        { type: 'object', properties: { a: { type: 'number' } }, required: ['a'] },
        { oneOf: [{ const: 1 }, { const: 2 }] },
      ],
    }),
    '{\n  a: number\n} & (1 | 2)',
  )
})

it('nullable (OpenAPI 3.0) and type arrays add null; unions inside arrays get parentheses', () => {
  assert.equal(typeOf({ type: 'number', nullable: true }), 'number | null')
  assert.equal(typeOf({ type: ['string', 'null'] }), 'string | null')
  assert.equal(typeOf({ type: 'array', items: { type: ['number', 'null'] } }), '(number | null)[]')
  assert.equal(typeOf({ type: 'array', items: { enum: ['a|b'] } }), '"a|b"[]') // a | inside a literal is not an operator
  assert.equal(typeOf({ type: 'array' }), 'unknown[]')
})

it('arrays: minItems/maxItems in the JSDoc, tuples from prefixItems and draft-07 items arrays', () => {
  const box = { type: 'array', items: { type: 'number' }, minItems: 4, maxItems: 4, description: '[x0, y0, x1, y1]' }
  assert.equal(typeOf(box), 'number[]')
  assert.equal(docComment(box, '  '), '  /**\n   * [x0, y0, x1, y1]\n   * 4 items.\n   */\n')
  assert.equal(docComment({ type: 'array', minItems: 1, maxItems: 64 }), '/** 1 to 64 items. */\n')
  assert.equal(
    typeOf({ type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }], items: false }),
    '[string, number]',
  )
  assert.equal(typeOf({ type: 'array', prefixItems: [{ type: 'string' }] }), '[string, ...unknown[]]')
  assert.equal(
    typeOf({ type: 'array', items: [{ type: 'boolean' }], additionalItems: { type: 'number' } }),
    '[boolean, ...number[]]',
  )
})

it('descriptions become JSDoc with ranges, defaults and encodings; a */ in a description cannot end the comment', () => {
  assert.equal(
    docComment({ type: 'integer', minimum: 1, maximum: 10, default: 3, description: 'how many' }),
    '/**\n * how many\n * Integer, from 1 to 10, default 3.\n */\n',
  )
  assert.equal(docComment({ type: 'number', exclusiveMinimum: 0 }), '/** > 0. */\n')
  assert.equal(docComment({ type: 'string', description: 'ends here */ or not' }), '/** ends here *\\/ or not */\n')
  assert.equal(docComment({ type: 'string' }), '')
  assert.equal(typeOf(true), 'unknown')
  assert.equal(typeOf(false), 'never')
  assert.equal(typeOf({ $ref: '#/definitions/x' }), 'unknown')
})

it('the client module names types after the model and refuses two models that would share a name', () => {
  assert.equal(typeStem('text-detection'), 'TextDetection')
  assert.equal(typeStem('iris'), 'Iris')
  assert.equal(typeStem('2d_pose'), 'Model2dPose')
  const model = {
    name: 'iris',
    version: '1',
    description: 'Iris',
    input: { type: 'array', items: { type: 'number' } },
    output: labelledOutputSchema(['a']),
    examples: [[1, 2]],
  }
  const source = clientModule([model, { ...model, name: 'no-output', output: undefined, examples: ['x'.repeat(500)] }])
  assertParses(source)
  assert.match(source, /export type IrisInstance = number\[\]/)
  assert.match(source, / \* @example \[1,2\]\n/)
  assert.match(source, /export type NoOutputPrediction = unknown/)
  assert.doesNotMatch(source, /xxxxx/) // long examples (base64 images) stay out
  assert.match(
    source,
    /export function createNoOutputClient\(baseUrl: string, options: ModelClientOptions = \{\}\): ModelClient<NoOutputInstance, NoOutputPrediction>/,
  )
  assert.throws(
    () => clientModule([model, { ...model, name: 'Iris' }]),
    /models "iris" and "Iris" would both be named Iris/,
  )
})
