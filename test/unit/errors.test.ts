import assert from 'node:assert/strict'
import { it } from 'node:test'
import { CarafeError, ERRORS } from '../../src/errors.js'
import { toCarafeError } from '../../src/http/errors.js'

it('maps Fastify codes to ours in one place', () => {
  const cases: [string, string][] = [
    ['FST_ERR_CTP_INVALID_JSON_BODY', 'MALFORMED_JSON'],
    ['FST_ERR_CTP_EMPTY_JSON_BODY', 'MALFORMED_JSON'],
    ['FST_ERR_CTP_BODY_TOO_LARGE', 'PAYLOAD_TOO_LARGE'],
    ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 'UNSUPPORTED_MEDIA_TYPE'],
  ]
  for (const [fastify, ours] of cases)
    assert.equal(toCarafeError(Object.assign(new Error('x'), { code: fastify })).code, ours)
})

it('anything unknown becomes INTERNAL with a fixed message', () => {
  const error = toCarafeError(new TypeError('cannot read properties of undefined (secret)'))
  assert.equal(error.code, 'INTERNAL')
  assert.equal(error.message, ERRORS.INTERNAL.message)
})

it('our errors pass through, and every code has a status and a message', () => {
  const ours = new CarafeError('OVERLOADED')
  assert.equal(toCarafeError(ours), ours)
  for (const [code, { status, message }] of Object.entries(ERRORS)) {
    assert.ok(status >= 400 && status < 600, code)
    assert.ok(message.length > 10, code)
    assert.match(code, /^[A-Z_]+$/)
  }
})
