import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { connect } from 'node:http2'
import { request } from 'node:https'
import { it } from 'node:test'
import { example } from '../helpers/paths.js'
import { startServer } from '../helpers/server.js'
import { selfSignedCert } from '../helpers/tls.js'

const { cert, key } = selfSignedCert()
const ca = readFileSync(cert)

function httpsGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { ca }, (response) => {
      let body = ''
      response.on('data', (chunk) => (body += chunk))
      response.on('end', () => resolve({ status: response.statusCode!, body }))
    })
      .on('error', reject)
      .end()
  })
}

it('serves HTTPS with --tls-cert and --tls-key', async (t) => {
  const { url } = await startServer(example('iris'), { t, config: { tlsCert: cert, tlsKey: key } })
  assert.match(url, /^https:\/\//)
  const answer = await httpsGet(`${url}/healthz`)
  assert.equal(answer.status, 200)
  assert.deepEqual(JSON.parse(answer.body), { status: 'ok' })
})

it('serves HTTP/2 over TLS with http2, and still answers HTTP/1.1', async (t) => {
  const server = await startServer(example('iris'), { config: { tlsCert: cert, tlsKey: key, http2: true } })
  const url = server.url
  const session = connect(url, { ca })
  // the session goes first: closing the server waits for open sessions (Fastify's 72 s idle session timeout)
  t.after(async () => {
    session.close()
    await server.close()
  })
  const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const stream = session.request({ ':path': '/healthz' })
    let status = 0
    let body = ''
    stream.on('response', (headers) => (status = Number(headers[':status'])))
    stream.on('data', (chunk) => (body += chunk))
    stream.on('end', () => resolve({ status, body }))
    stream.on('error', reject)
    stream.end()
  })
  assert.equal(status, 200)
  assert.deepEqual(JSON.parse(body), { status: 'ok' })
  assert.equal((await httpsGet(`${url}/healthz`)).status, 200)
})

it('HTTP/2: streams with half-sent bodies are cancelled after requestTimeoutMs; at most 100 streams per session', {
  timeout: 60_000,
}, async (t) => {
  const server = await startServer(example('iris'), {
    config: { tlsCert: cert, tlsKey: key, http2: true, requestTimeoutMs: 1000 },
  })
  const sessions = Array.from({ length: 3 }, () => connect(server.url, { ca }))
  // the sessions go first, or closing the server would wait for them
  t.after(async () => {
    for (const session of sessions) session.destroy()
    await server.close()
  })
  await new Promise((resolve) => sessions[0].once('remoteSettings', resolve))
  assert.equal(sessions[0].remoteSettings.maxConcurrentStreams, 100)
  const closes: Promise<number | 'open'>[] = []
  for (const session of sessions) {
    for (let i = 0; i < 4; i++) {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/v1/models/iris:predict',
        'content-type': 'application/json',
        'content-length': '1000',
      })
      stream.on('error', () => undefined)
      stream.write('{"instances":[[5.1,') // and never the rest
      closes.push(
        new Promise((resolve) => {
          // bounded: a stream still open after 20 s is the failure this test looks for
          const timer = setTimeout(() => resolve('open'), 20_000)
          stream.on('close', () => {
            clearTimeout(timer)
            resolve(stream.rstCode ?? -1)
          })
        }),
      )
    }
  }
  const outcomes = await Promise.all(closes)
  assert.ok(
    outcomes.every((code) => code !== 'open'),
    `streams still open: ${outcomes.filter((c) => c === 'open').length}`,
  )
  // a session still takes new requests after its stalled streams were cancelled
  const status = await new Promise<number>((resolve, reject) => {
    const stream = sessions[0].request({ ':path': '/healthz' })
    stream.on('response', (headers) => resolve(Number(headers[':status'])))
    stream.on('error', reject)
    stream.end()
  })
  assert.equal(status, 200)
})
