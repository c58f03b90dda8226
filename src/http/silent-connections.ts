import type { Socket } from 'node:net'
import { Server as TlsServer } from 'node:tls'
import type { FastifyInstance } from 'fastify'

/**
 * Node's server.close() ends idle keep-alive connections, but waits for one that was opened and has not sent a
 * request yet (browsers and undici open connections ahead of need): such a connection would hold the shutdown until
 * shutdownTimeoutMs. At close, every HTTP/1 connection that has not sent a byte is ended (within a second). Idle keep-alive connections
 * Node ends itself; one with a request half sent is left to finish it (and be answered SHUTTING_DOWN); those answering a
 * request close after it (the `connection: close` of the stopping phase).
 */
export function endSilentConnectionsOnClose(app: FastifyInstance): void {
  const opened = new Map<Socket, number>()
  // under TLS the HTTP layer works on the TLS socket, which exists once the handshake is done
  const event = app.server instanceof TlsServer ? 'secureConnection' : 'connection'
  app.server.on(event, (socket: Socket) => {
    opened.set(socket, Date.now())
    socket.once('close', () => opened.delete(socket))
  })
  // a TLS socket counts the bytes after decryption: 0 there too until the client sends its request. A connection
  // younger than the grace may have its first bytes on the way (not read yet): it gets the grace to show them.
  const endSilent = (olderThan: number) => {
    for (const [socket, at] of opened) if (socket.bytesRead === 0 && at <= olderThan) socket.destroy()
  }
  app.addHook('preClose', (done) => {
    endSilent(Date.now() - SILENT_GRACE_MS)
    setTimeout(() => endSilent(Number.POSITIVE_INFINITY), SILENT_GRACE_MS).unref()
    done()
  })
}

const SILENT_GRACE_MS = 1_000
