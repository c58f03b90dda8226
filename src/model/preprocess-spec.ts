// The carafe.yaml `preprocess` block: its schema and types. Load-time checks live in preprocess-check.ts, the
// per-request image work in preprocess-image.ts.
import { Type, type Static } from 'typebox'
import { IMAGE_LIMITS } from './image.js'

const Kernel = Type.Union(
  [Type.Literal('nearest'), Type.Literal('linear'), Type.Literal('cubic'), Type.Literal('lanczos3')],
  {
    description: 'resampling kernel (default linear, as cv2.resize and PIL bilinear)',
  },
)

/** Declarative image pre-processing for one instance field, from carafe.yaml `preprocess.<field>`. */
export const ImagePreprocess = Type.Object(
  {
    input: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'ONNX models: the graph input this field feeds (default: the input of the same name, or the only input)',
      }),
    ),
    resize: Type.Optional(
      Type.Union([
        Type.Object(
          {
            width: Type.Integer({ minimum: 1, maximum: 8192 }),
            height: Type.Integer({ minimum: 1, maximum: 8192 }),
            fit: Type.Optional(
              Type.Union([Type.Literal('fill'), Type.Literal('cover'), Type.Literal('contain')], {
                description:
                  'fill stretches; cover scales to cover and crops the centre; contain scales to fit and pads (letterbox). Default fill',
              }),
            ),
            kernel: Type.Optional(Kernel),
          },
          { additionalProperties: false },
        ),
        Type.Object(
          {
            maxSide: Type.Integer({
              minimum: 1,
              maximum: 8192,
              description: 'scale down (never up) so the longer side is at most this',
            }),
            multipleOf: Type.Optional(
              Type.Integer({
                minimum: 1,
                maximum: 1024,
                description: 'then round each side to a multiple of this (round half to even, as NumPy and PaddleOCR)',
              }),
            ),
            kernel: Type.Optional(Kernel),
          },
          { additionalProperties: false },
        ),
      ]),
    ),
    channels: Type.Optional(
      Type.Union([Type.Literal('RGB'), Type.Literal('BGR'), Type.Literal('GRAY')], {
        description: 'channel order of the tensor (default RGB)',
      }),
    ),
    layout: Type.Optional(
      Type.Union([Type.Literal('CHW'), Type.Literal('HWC')], {
        description: 'default CHW (PyTorch); HWC for TensorFlow',
      }),
    ),
    dtype: Type.Optional(
      Type.Union([Type.Literal('float32'), Type.Literal('uint8')], {
        description: 'default float32; uint8 passes raw 0-255 pixels',
      }),
    ),
    range: Type.Optional(
      Type.Tuple([Type.Number(), Type.Number()], {
        description: 'pixels 0-255 map linearly onto [low, high] before mean/std (default [0, 1])',
      }),
    ),
    mean: Type.Optional(
      Type.Array(Type.Number(), {
        minItems: 1,
        maxItems: 3,
        description: 'subtracted per tensor channel, in tensor channel order',
      }),
    ),
    std: Type.Optional(
      Type.Array(Type.Number({ exclusiveMinimum: 0 }), {
        minItems: 1,
        maxItems: 3,
        description: 'divided per tensor channel, in tensor channel order',
      }),
    ),
    pad: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 255,
        description: 'grey level of the letterbox padding (fit: contain), default 0',
      }),
    ),
    maxPixels: Type.Optional(
      Type.Integer({ minimum: 1, description: `decoded pixel limit (default ${IMAGE_LIMITS.maxPixels})` }),
    ),
    maxBytes: Type.Optional(
      Type.Integer({ minimum: 1, description: `encoded byte limit (default ${IMAGE_LIMITS.maxBytes})` }),
    ),
    formats: Type.Optional(
      Type.Array(
        Type.Union([
          Type.Literal('png'),
          Type.Literal('jpeg'),
          Type.Literal('webp'),
          Type.Literal('gif'),
          Type.Literal('tiff'),
          Type.Literal('avif'),
          Type.Literal('svg'),
        ]),
        {
          minItems: 1,
          uniqueItems: true,
          description: `accepted image formats (default ${IMAGE_LIMITS.formats.join(', ')}); svg is opt-in and runs the model's runners as child processes, since a render cannot be interrupted otherwise`,
        },
      ),
    ),
  },
  { additionalProperties: false },
)
export type ImagePreprocess = Static<typeof ImagePreprocess>

export const Preprocess = Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.-]*$' }), ImagePreprocess, {
  description: 'instance fields that carry an image, and how to turn each into a tensor before the model sees it',
})
export type Preprocess = Static<typeof Preprocess>
