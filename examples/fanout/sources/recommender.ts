/** A stand-in recommendation source: waits like a remote model would, then scores a fixed catalogue for the user. */

import type { ModelDefinition } from 'carafe'

const CATALOGUE = [
  'espresso',
  'latte',
  'cortado',
  'flat-white',
  'mocha',
  'americano',
  'macchiato',
  'ristretto',
  'lungo',
  'affogato',
]
export const SOURCE_DELAY_MS = 300

export interface SourceAnswer {
  items: { id: string; score: number }[]
  /** Wall-clock milliseconds (epoch) when this call started and finished: the fan-out test reads the overlap. */
  startedAt: number
  finishedAt: number
}

// FNV-1a: the same user always gets the same scores from the same source.
function hash(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return (h >>> 0) / 0xffffffff
}

const now = () => performance.timeOrigin + performance.now()

export function recommender(name: string): ModelDefinition<{ user: string }, SourceAnswer> {
  return {
    name,
    description: `fan-out example source "${name}": scores the catalogue for a user after ${SOURCE_DELAY_MS} ms`,
    input: {
      type: 'object',
      properties: { user: { type: 'string', minLength: 1, maxLength: 200 } },
      required: ['user'],
      additionalProperties: false,
    },
    examples: [{ user: 'warm-up' }],
    async predict(inputs) {
      const startedAt = now()
      await new Promise((resolve) => setTimeout(resolve, SOURCE_DELAY_MS))
      return inputs.map(({ user }) => ({
        items: CATALOGUE.map((id) => ({ id, score: Math.round(hash(`${name}/${user}/${id}`) * 1e4) / 1e4 })),
        startedAt,
        finishedAt: now(),
      }))
    },
  }
}
