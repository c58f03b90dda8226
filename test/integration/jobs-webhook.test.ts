import assert from 'node:assert/strict'
import { createHmac, timingSafeEqual } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fixture } from '../helpers/paths.js'
import { post, startServer } from '../helpers/server.js'

const SECRET = 'test-webhook-secret-0123456789'

test('a finished job calls its webhook with an HMAC signature, retrying after a failed delivery', {
  timeout: 60_000,
}, async (t) => {
  const deliveries: { body: string; signature: string }[] = []
  let gotTwo!: () => void
  const received = new Promise<void>((resolve) => (gotTwo = resolve))
  const listener = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk) => chunks.push(chunk))
    request.on('end', () => {
      deliveries.push({
        body: Buffer.concat(chunks).toString(),
        signature: String(request.headers['x-carafe-signature']),
      })
      // the first delivery fails, so the test sees the retry
      response.statusCode = deliveries.length === 1 ? 500 : 200
      response.setHeader('connection', 'close')
      response.end()
      if (deliveries.length === 2) gotTwo()
    })
  })
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    listener.closeAllConnections()
    return new Promise((done) => listener.close(done))
  })
  const port = (listener.address() as { port: number }).port
  const dataDir = await mkdtemp(join(tmpdir(), 'carafe-webhook-'))
  t.after(() => rm(dataDir, { recursive: true, force: true }))
  const server = await startServer(fixture('handlers/slow-progress.ts'), {
    t,
    config: { dataDir, webhookHosts: [`127.0.0.1:${port}`], webhookSecret: SECRET },
  })

  const { status, body } = await post(`${server.url}/v1/models/slow/jobs`, {
    instances: [{ ms: 5, tag: 'hook' }],
    webhook: `http://127.0.0.1:${port}/done`,
  })
  assert.equal(status, 202)
  await received
  for (const delivery of deliveries) {
    const expected = `sha256=${createHmac('sha256', SECRET).update(delivery.body).digest('hex')}`
    assert.ok(timingSafeEqual(Buffer.from(delivery.signature), Buffer.from(expected)), 'signature verifies')
    const job = JSON.parse(delivery.body)
    assert.equal(job.id, body.id)
    assert.equal(job.status, 'succeeded')
    assert.equal(job.result.predictions[0].tag, 'hook')
  }

  const refused = await post(`${server.url}/v1/models/slow/jobs`, {
    instances: [{ ms: 1 }],
    webhook: 'http://example.com/hook',
  })
  assert.equal(refused.status, 400)
  assert.equal(refused.body.error.code, 'WEBHOOK_NOT_ALLOWED')
  const notUrl = await post(`${server.url}/v1/models/slow/jobs`, { instances: [{ ms: 1 }], webhook: 'not a url' })
  assert.equal(notUrl.body.error.code, 'WEBHOOK_NOT_ALLOWED')
})

test('a webhook receiver that redirects (301, 302, 307, 308) is never followed past webhookHosts', {
  timeout: 60_000,
}, async (t) => {
  const listen = async (handler: Parameters<typeof createServer>[1]) => {
    const server = createServer(handler)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    t.after(() => {
      server.closeAllConnections()
      return new Promise((done) => server.close(done))
    })
    return (server.address() as { port: number }).port
  }
  let relayed = 0
  const outside = await listen((request, response) => {
    relayed++
    request.resume()
    response.end()
  })
  const statuses = [301, 302, 307, 308]
  let asked = 0
  const allowed = await listen((request, response) => {
    request.resume()
    response.statusCode = statuses[asked++ % statuses.length]
    response.setHeader('location', `http://127.0.0.1:${outside}/steal`)
    response.end()
  })
  const server = await startServer(fixture('handlers/slow-progress.ts'), {
    t,
    config: { webhookHosts: [`127.0.0.1:${allowed}`], webhookSecret: SECRET },
  })
  for (const _status of statuses) {
    const submitted = await post(`${server.url}/v1/models/slow/jobs`, {
      instances: [{ ms: 1 }],
      webhook: `http://127.0.0.1:${allowed}/hook`,
    })
    assert.equal(submitted.status, 202)
  }
  const redirectLogs = () => server.logs.filter((line) => String(line.msg).includes('redirect')).length
  for (let i = 0; i < 1500 && redirectLogs() < statuses.length; i++) await new Promise((r) => setTimeout(r, 20))
  assert.equal(redirectLogs(), statuses.length, 'each redirect was logged as not followed')
  assert.equal(asked, statuses.length, 'one delivery each: a redirect is not retried')
  assert.equal(relayed, 0, 'the host outside webhookHosts got nothing')
})
