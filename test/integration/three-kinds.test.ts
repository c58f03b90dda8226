import assert from 'node:assert/strict'
import { join } from 'node:path'
import { predictApiContract } from '../contracts/predict-api.js'
import { example, fixture } from '../helpers/paths.js'

const IRIS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
]

predictApiContract('bare .onnx file', {
  path: join(example('iris'), '1', 'model.onnx'),
  name: 'model',
  valid: IRIS,
  invalid: [1, 2, 3],
  check(predictions) {
    // no carafe.yaml: raw probability rows, straight from the graph
    for (const row of predictions as number[][]) {
      assert.equal(row.length, 3)
      assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5)
    }
    assert.equal((predictions as number[][])[0].indexOf(Math.max(...(predictions as number[][])[0])), 0)
  },
})

predictApiContract('TypeScript handler module', {
  path: join(example('handler'), 'model.ts'),
  name: 'iris-forest',
  valid: IRIS,
  invalid: ['a', 'b', 'c', 'd'],
  check(predictions) {
    assert.deepEqual(
      (predictions as { label: string }[]).map((p) => p.label),
      ['setosa', 'virginica'],
    )
  },
})

predictApiContract('model directory with carafe.yaml', {
  path: example('iris'),
  name: 'iris',
  valid: IRIS,
  invalid: [5.1, 3.5, 1.4],
  check(predictions) {
    const [first, second] = predictions as { label: string; probabilities: Record<string, number> }[]
    assert.equal(first.label, 'setosa')
    assert.equal(second.label, 'virginica')
    for (const p of [first, second])
      assert.ok(Math.abs(Object.values(p.probabilities).reduce((a, b) => a + b, 0) - 1) < 1e-5)
  },
})

predictApiContract('plain-object handler fixture', {
  path: fixture('handlers/echo.ts'),
  name: 'echo',
  valid: [{ x: 1 }, { x: 2.5 }],
  invalid: { x: 'one' },
  check(predictions) {
    assert.deepEqual(
      (predictions as { y: number }[]).map((p) => p.y),
      [2, 5],
    )
  },
})
