import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { it } from 'node:test'
import { ROOT } from '../helpers/paths.js'

// No Docker engine runs here and no base image can be pulled, so the Dockerfile is checked line by line: what an
// image must do to run Carafe safely, stated where a build cannot check it.
const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ')
const stages = text.split(/^FROM /m).slice(1)
const final = stages.at(-1)!
const instruction = (stage: string, name: string) =>
  stage
    .split('\n')
    .filter((line) => line.startsWith(`${name} `))
    .map((line) => line.slice(name.length + 1).trim())

it('builds in one stage and runs from another: the final image installs the packed tarball, production only', () => {
  assert.ok(stages.length >= 2, 'a multi-stage build')
  assert.ok(
    instruction(stages[0]!, 'RUN').some((r) => r.includes('npm pack')),
    'the build stage packs the library as npm would publish it',
  )
  assert.ok(instruction(final, 'COPY').some((c) => c.includes('--from=build') && c.includes('/out/app')))
  assert.ok(instruction(final, 'RUN').some((r) => /npm install --omit=dev/.test(r)))
  assert.ok(
    instruction(stages[0]!, 'COPY').some((c) => c.includes('.npmrc')),
    '.npmrc (onnxruntime-node-install=skip) is there before any install',
  )
})

it('runs as a non-root user with a health check on /healthz and the port it exposes', () => {
  const user = instruction(final, 'USER')
  assert.equal(user.length, 1)
  assert.doesNotMatch(user[0]!, /^(root|0)(:|$)/)
  const env = instruction(final, 'ENV').join(' ')
  const port = /CARAFE_PORT=(\d+)/.exec(env)?.[1]
  assert.ok(port, 'CARAFE_PORT set')
  assert.deepEqual(instruction(final, 'EXPOSE'), [port])
  const health = instruction(final, 'HEALTHCHECK')
  assert.equal(health.length, 1)
  assert.match(health[0]!, /\/healthz/)
  assert.match(health[0]!, /CARAFE_PORT/)
})

it('starts node directly in exec form, so SIGTERM reaches the ordered shutdown', () => {
  const [entrypoint] = instruction(final, 'ENTRYPOINT')
  const args = JSON.parse(entrypoint!) as string[]
  assert.equal(args[0], 'node')
  assert.match(args[1]!, /carafe\/bin\/carafe\.js$/)
  assert.equal(args[2], 'serve')
  assert.ok(JSON.parse(instruction(final, 'CMD')[0]!).length > 0, 'a default model path')
})
