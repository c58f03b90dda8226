import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { connect } from 'node:http2'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { it } from 'node:test'
import { example } from '../helpers/paths.js'
import { startServer } from '../helpers/server.js'

const dir = mkdtempSync(join(tmpdir(), 'carafe-tls-'))
const cert = join(dir, 'cert.pem')
const key = join(dir, 'key.pem')
execFileSync(
  'openssl',
  [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ],
  { stdio: 'ignore' },
)
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
  const { url } = await startServer(example('iris'), { t, config: { tlsCert: cert, tlsKey: key, http2: true } })
  const session = connect(url, { ca })
  t.after(() => session.close())
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
