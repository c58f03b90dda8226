import { type TSchema, Type } from 'typebox'

// [compat] The classic image-annotation request: clients written for it move over unchanged.
// A null feature value means the default, as the server this stands in for reads each one with `.get(...) or default`.
const orNull = <T extends TSchema>(schema: T) => Type.Optional(Type.Union([schema, Type.Null()]))
const Feature = Type.Object(
  {
    type: orNull(Type.String()),
    score_th: orNull(Type.Number({ minimum: 0, maximum: 1 })),
    nms_iou: orNull(Type.Number({ minimum: 0, maximum: 1 })),
    maxResults: orNull(Type.Integer({ minimum: 1, maximum: 1000 })),
    min_height: orNull(Type.Number({ minimum: 0, maximum: 1 })),
    min_width: orNull(Type.Number({ minimum: 0, maximum: 1 })),
  },
  { additionalProperties: false },
)

export const AnnotateRequest = Type.Object({
  requests: Type.Array(
    Type.Object(
      {
        image: Type.Object(
          { content: Type.String({ minLength: 1, description: 'the image, base64' }) },
          { additionalProperties: false },
        ),
        features: orNull(Type.Array(Feature, { maxItems: 8 })),
      },
      { additionalProperties: false },
    ),
    { minItems: 1 },
  ),
})

interface AnnotateBody {
  requests: { image: { content: string }; features?: Record<string, unknown>[] | null }[]
}

const RENAMES: Record<string, string> = {
  score_th: 'scoreThreshold',
  nms_iou: 'nmsIou',
  maxResults: 'maxResults',
  min_height: 'minHeight',
  min_width: 'minWidth',
}

/** Each request becomes one instance {image, scoreThreshold?, nmsIou?, maxResults?, minWidth?, minHeight?}; features merge in order. */
export function decodeAnnotate(body: AnnotateBody): Record<string, unknown>[] {
  return body.requests.map(({ image, features }) => {
    const instance: Record<string, unknown> = { image: image.content }
    for (const feature of features ?? []) {
      for (const [key, name] of Object.entries(RENAMES)) if (feature[key] != null) instance[name] = feature[key]
    }
    return instance
  })
}

interface Box {
  points: [number, number][]
  box: [number, number, number, number]
  score: number
  text?: string
  confidence?: number
}

/** Each prediction's boxes (or OCR lines) become textAnnotations with pixel and normalized vertices. */
export function encodeAnnotate(predictions: unknown[]) {
  return {
    responses: predictions.map((prediction) => {
      const { boxes, lines, width, height } = prediction as {
        boxes?: Box[]
        lines?: Box[]
        width?: number
        height?: number
      }
      return {
        textAnnotations: (boxes ?? lines ?? []).map((b) => ({
          ...(b.text !== undefined ? { description: b.text, confidence: b.confidence } : {}),
          score: b.score,
          boundingPoly: {
            vertices: b.points.map(([x, y]) => ({ x: Math.round(x), y: Math.round(y) })),
            normalizedVertices:
              width && height ? b.points.map(([x, y]) => ({ x: x / width, y: y / height })) : undefined,
          },
          box: b.box,
        })),
      }
    }),
  }
}
