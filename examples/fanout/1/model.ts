import { defineModel, type PredictContext } from 'carafe'
import type { SourceAnswer } from '../sources/recommender.js'

const SOURCES = ['popular', 'recent', 'similar', 'trending']

interface Request {
  user: string
  k?: number
}

export default defineModel({
  name: 'fanout',
  description: 'Asks four recommendation models at once and merges their scores (sum per item, best k first).',
  input: {
    type: 'object',
    properties: {
      user: { type: 'string', minLength: 1, maxLength: 200 },
      k: { type: 'integer', minimum: 1, maximum: 10 },
    },
    required: ['user'],
    additionalProperties: false,
  },
  examples: [{ user: 'ada', k: 3 }],

  async predict(inputs: Request[], ctx: PredictContext) {
    const models = ctx.models
    if (!models) throw new Error('fanout needs ctx.models (serve it with carafe serve examples/fanout)')
    // One call per source for the whole batch, all four in flight together.
    const answers = await Promise.all(
      SOURCES.map(async (source) => {
        const outputs = (await models.get(source).predict(inputs.map(({ user }) => ({ user })))) as SourceAnswer[]
        return { source, outputs }
      }),
    )
    return inputs.map(({ k = 5 }, i) => {
      const totals = new Map<string, number>()
      for (const { outputs } of answers)
        for (const { id, score } of outputs[i]!.items) totals.set(id, (totals.get(id) ?? 0) + score)
      const items = [...totals]
        .sort((a, b) => b[1] - a[1])
        .slice(0, k)
        .map(([id, score]) => ({ id, score: Math.round(score * 1e4) / 1e4 }))
      const calls = answers.map(({ source, outputs }) => ({
        model: source,
        startedAt: outputs[i]!.startedAt,
        finishedAt: outputs[i]!.finishedAt,
      }))
      return { items, calls }
    })
  },
})
