import { Type, type Static } from 'typebox'
import { ERRORS } from '../errors.js'

export const PredictRequest = Type.Object({
  instances: Type.Array(Type.Unknown(), {
    minItems: 1,
    description: 'one entry per instance, each matching the model input schema',
  }),
})
export type PredictRequest = Static<typeof PredictRequest>

export const PredictResponse = Type.Object({
  predictions: Type.Array(Type.Unknown()),
})

export const ErrorEnvelope = Type.Object({
  error: Type.Object({
    code: Type.Union(Object.keys(ERRORS).map((code) => Type.Literal(code))),
    message: Type.String(),
    details: Type.Array(Type.Unknown()),
    requestId: Type.String(),
  }),
})

export const ModelNameParams = Type.Object({ name: Type.String() })
