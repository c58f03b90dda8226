import type { JsonSchema } from './contract.js'

export interface LabelledPrediction {
  label: string
  probabilities: Record<string, number>
}

/** A classifier's probability row → the top label and the probabilities by label. */
export function applyLabels(row: unknown, labels: readonly string[]): LabelledPrediction {
  if (!Array.isArray(row) || row.length !== labels.length) {
    throw new Error(
      `labels: the model returned ${Array.isArray(row) ? row.length : 'a non-array'} scores for ${labels.length} labels`,
    )
  }
  let top = 0
  for (let i = 1; i < row.length; i++) if ((row[i] as number) > (row[top] as number)) top = i
  return { label: labels[top], probabilities: Object.fromEntries(labels.map((l, i) => [l, row[i] as number])) }
}

export function labelledOutputSchema(labels: readonly string[]): JsonSchema {
  return {
    type: 'object',
    properties: {
      label: { type: 'string', enum: [...labels] },
      probabilities: {
        type: 'object',
        properties: Object.fromEntries(labels.map((l) => [l, { type: 'number' }])),
        required: [...labels],
        additionalProperties: false,
      },
    },
    required: ['label', 'probabilities'],
    additionalProperties: false,
  }
}
