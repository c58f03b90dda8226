// The cluster test's model: waits `ms`, then appends its token to CARAFE_CLUSTER_LOG, so the script counts how many
// times each job ran to completion across replicas. While the file CARAFE_CLUSTER_POISON exists, setup throws and
// predict ends the runner: the model crash-loops on that replica only.
import { appendFileSync, existsSync } from 'node:fs'

const log = process.env.CARAFE_CLUSTER_LOG
const poison = process.env.CARAFE_CLUSTER_POISON
const poisoned = () => poison !== undefined && existsSync(poison)

export default {
  name: 'cluster',
  input: {
    type: 'object',
    properties: { token: { type: 'string', maxLength: 64 }, ms: { type: 'integer', minimum: 0, maximum: 5000 } },
    required: ['token', 'ms'],
    additionalProperties: false,
  },
  examples: [{ token: 'warm-up', ms: 0 }],
  batch: { maxSize: 16, maxDelayMs: 2 },
  setup() {
    if (poisoned()) throw new Error('poisoned: setup refuses to start')
  },
  async predict(inputs: { token: string; ms: number }[]) {
    if (poisoned()) process.exit(1)
    await new Promise((resolve) => setTimeout(resolve, Math.max(...inputs.map((i) => i.ms))))
    if (log) appendFileSync(log, inputs.map((i) => `${i.token}\n`).join(''))
    return inputs.map((i) => ({ token: i.token }))
  },
}
