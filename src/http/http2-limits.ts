import { constants, type Http2SecureServer, type ServerHttp2Stream } from 'node:http2'
import type { Config } from '../config/index.js'

// RFC 9113 §6.5.2 suggests no less than 100; Node's default is 2^32-1, one session could open streams without end
export const MAX_CONCURRENT_STREAMS = 100

/**
 * HTTP/2 gets the bound HTTP/1.1 has in requestTimeout: a stream whose request has not fully arrived within
 * requestTimeoutMs is cancelled (RST_STREAM), so half-sent bodies cannot hold streams, and through them sessions, open.
 * Fastify's idle session timeout closes a session gracefully, which waits for its streams: this is what ends them.
 */
export function boundHttp2Streams(server: Http2SecureServer, config: Readonly<Config>): void {
  if (config.requestTimeoutMs === 0) return
  server.on('stream', (stream: ServerHttp2Stream) => {
    if (stream.endAfterHeaders) return // no body to wait for
    const timer = setTimeout(() => {
      if (!stream.readableEnded && !stream.destroyed) stream.close(constants.NGHTTP2_CANCEL)
    }, config.requestTimeoutMs)
    timer.unref()
    const done = () => clearTimeout(timer)
    stream.once('end', done)
    stream.once('close', done)
  })
}
