import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { multipartFlood } from '../helpers/hostile-requests.js'
import { example } from '../helpers/paths.js'
import { sendRaw } from '../helpers/raw-http.js'
import { startServer, type TestServer } from '../helpers/server.js'

const BODY_LIMIT = 1024 * 1024

describe('multipart bodies stay within bodyLimit', () => {
  let server: TestServer
  before(async () => {
    server = await startServer(example('iris'), { config: { bodyLimit: BODY_LIMIT } })
  })
  after(() => server.close())

  it('refuses a form whose Content-Length is over bodyLimit with 413, before reading it', async () => {
    const form = new FormData()
    // five fields of 300 kB: each is within the per-field limit, together they pass bodyLimit
    for (let i = 0; i < 5; i++) form.append(`f${i}`, '7'.repeat(300_000))
    const response = await fetch(`${server.url}/v1/models/iris:predict`, { method: 'POST', body: form })
    const body = (await response.json()) as { error: { code: string } }
    assert.equal(response.status, 413)
    assert.equal(body.error.code, 'PAYLOAD_TOO_LARGE')
  })

  it('answers 413 while a chunked form is still streaming, once it passes bodyLimit', async () => {
    const port = Number(new URL(server.url).port)
    // 2 MB sent and the form never finished: only a limit counted while streaming can answer this
    const answer = await sendRaw(port, multipartFlood('/v1/models/iris:predict', 8, 256 * 1024), 20_000)
    assert.equal(answer.status, 413, answer.body.slice(0, 200))
    assert.equal(JSON.parse(answer.body).error.code, 'PAYLOAD_TOO_LARGE')
  })

  it('still reads a form within the limit (and judges it by the schema)', async () => {
    const port = Number(new URL(server.url).port)
    const answer = await sendRaw(port, multipartFlood('/v1/models/iris:predict', 2, 1000, false))
    assert.equal(answer.status, 400, answer.body.slice(0, 200))
    assert.equal(JSON.parse(answer.body).error.code, 'INVALID_INPUT')
  })
})
