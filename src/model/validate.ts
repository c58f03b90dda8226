import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { CarafeError } from '../errors.js'
import type { JsonSchema } from './contract.js'
import { shapeOf } from './tensor.js'

export interface InstanceProblem {
  instance: number
  path: string
  message: string
}

// No coercion: "5.1" in a number array is an error, not a number allErrors stays off (DoS).
// strictNumbers: NaN and Infinity (JSON's 1e999) are not numbers; strict: false alone would turn that off.
const ajv = new Ajv({
  coerceTypes: false,
  useDefaults: false,
  allErrors: false,
  strict: false,
  strictNumbers: true,
  allowUnionTypes: true,
})
ajv.addKeyword({
  keyword: 'x-rectangular',
  schemaType: 'boolean',
  errors: true,
  validate: function rectangular(this: unknown, wanted: boolean, data: unknown) {
    if (!wanted) return true
    const result = shapeOf(data)
    if ('shape' in result) return true
    ;(rectangular as unknown as { errors: Partial<ErrorObject>[] }).errors = [
      {
        keyword: 'x-rectangular',
        message: `must be a rectangular nested array (ragged at ${result.raggedAt || '/'})`,
        params: {},
      },
    ]
    return false
  },
})

/** Compile once at load: an instance validator that throws INVALID_INPUT naming the instance index and path. */
export function compileInstanceValidator(schema: JsonSchema, what = 'input'): (instances: unknown[]) => void {
  let check: ValidateFunction
  try {
    check = ajv.compile(schema)
  } catch (error) {
    throw new Error(`the ${what} schema is not valid JSON Schema: ${(error as Error).message}`)
  }
  return (instances) => {
    for (let i = 0; i < instances.length; i++) {
      if (check(instances[i])) continue
      const error = check.errors![0]
      const problem: InstanceProblem = { instance: i, path: error.instancePath || '/', message: describe(error) }
      throw new CarafeError('INVALID_INPUT', `instance ${i} at ${problem.path}: ${problem.message}`, [problem])
    }
  }
}

function describe(error: ErrorObject): string {
  if (error.keyword === 'enum')
    return `${error.message}: ${JSON.stringify((error.params as { allowedValues: unknown[] }).allowedValues)}`
  if (error.keyword === 'additionalProperties')
    return `unknown property "${(error.params as { additionalProperty: string }).additionalProperty}"`
  return error.message ?? 'is invalid'
}
