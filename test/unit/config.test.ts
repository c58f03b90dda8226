import assert from 'node:assert/strict'
import { it } from 'node:test'
import { ConfigError, loadConfig } from '../../src/config/index.js'

it('defaults, then file, then CARAFE_* environment, then flags', () => {
  assert.equal(loadConfig().port, 8080)
  assert.equal(loadConfig({ file: { port: 9000 } }).port, 9000)
  assert.equal(loadConfig({ file: { port: 9000 }, env: { CARAFE_PORT: '9100' } }).port, 9100)
  assert.equal(loadConfig({ file: { port: 9000 }, env: { CARAFE_PORT: '9100' }, flags: { port: 9200 } }).port, 9200)
  assert.equal(loadConfig().bodyLimit, 10 * 1024 * 1024)
})

it('is frozen', () => {
  const config = loadConfig()
  assert.throws(() => {
    ;(config as { port: number }).port = 1
  })
})

it('names the key, the value and where it came from', () => {
  assert.throws(
    () => loadConfig({ env: { CARAFE_PORT: '70000' } }),
    (error: Error) =>
      error instanceof ConfigError && /port/.test(error.message) && /CARAFE_PORT="70000"/.test(error.message),
  )
  assert.throws(() => loadConfig({ file: { colour: 'blue' } }), /colour/)
  assert.throws(() => loadConfig({ flags: { port: 'eighty' } }), /port.*flag --port/)
})
