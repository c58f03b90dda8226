import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { it } from 'node:test'
import { loadConfig } from '../../src/config/index.js'
import { maxConnectionsFor, openFileLimit } from '../../src/http/connection-limit.js'
import { example } from '../helpers/paths.js'
import { startServer } from '../helpers/server.js'

const open = (port: number) =>
  new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket))
    socket.on('error', reject)
  })
// resolves when the server closes the socket (bounded, so a socket that stays open fails the test, not hangs it)
const closedBy = (socket: Socket, ms = 15_000) =>
  new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms)
    socket.on('error', () => undefined)
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(true)
    })
  })

it('refuses connections past maxConnections at once and serves again when one closes', async (t) => {
  const server = await startServer(example('iris'), { config: { maxConnections: 3 } })
  const held: Socket[] = []
  // the raw sockets go first, or closing the server would wait for them
  t.after(async () => {
    for (const socket of held) socket.destroy()
    await server.close()
  })
  const port = Number(new URL(server.url).port)
  for (let i = 0; i < 3; i++) held.push(await open(port))
  const extra = await open(port) // the TCP handshake succeeds; the server closes it on accept
  held.push(extra)
  assert.equal(await closedBy(extra), true, 'a connection past the limit was closed')
  held.pop()
  assert.ok(
    held.every((socket) => !socket.destroyed),
    'the connections within the limit stay open',
  )
  const freed = held.pop()!
  freed.destroy()
  await closedBy(freed)
  let status = 0
  for (let i = 0; i < 100 && status !== 200; i++) {
    const fresh = await open(port)
    held.push(fresh)
    fresh.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
    status = await new Promise<number>((resolve) => {
      fresh.once('data', (chunk) => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(String(chunk))?.[1] ?? 0)))
      fresh.once('close', () => resolve(0))
    })
    if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  assert.equal(status, 200)
  assert.ok(server.logs.some((line) => line.msg === 'connection refused: maxConnections reached'))
})

it('defaults maxConnections to the open-file limit minus headroom', () => {
  assert.equal(
    openFileLimit(() => 'Max open files            20000                20000                files\n'),
    20_000,
  )
  assert.equal(
    openFileLimit(() => 'Max open files            unlimited            unlimited            files\n'),
    undefined,
  )
  assert.equal(maxConnectionsFor(loadConfig(), 20_000), 18_000)
  assert.equal(maxConnectionsFor(loadConfig(), 1024), 922)
  assert.equal(maxConnectionsFor(loadConfig({ flags: { maxConnections: 7 } }), 20_000), 7)
  const limit = openFileLimit()
  if (limit !== undefined) assert.ok(maxConnectionsFor(loadConfig())! < limit)
})

it('a shutdown ends connections that never sent a request, and ones between requests, without waiting for them', async (t) => {
  // Node's own close waits for a connection opened ahead of need (browsers and undici do so) until its client leaves
  const server = await startServer(example('iris'), { config: { shutdownTimeoutMs: 10_000 } })
  const port = Number(new URL(server.url).port)
  const silent = await open(port)
  const used = await open(port)
  t.after(() => {
    // when the server failed to end them, the test must not hang on them
    silent.destroy()
    used.destroy()
  })
  used.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n')
  await new Promise((resolve) => used.once('data', resolve)) // answered, kept alive
  const closes = [closedBy(silent), closedBy(used)]
  const outcome = await server.carafe.close()
  assert.equal(outcome, 'clean')
  assert.deepEqual(await Promise.all(closes), [true, true])
})
