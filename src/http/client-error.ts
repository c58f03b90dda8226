import { randomUUID } from 'node:crypto'
import type { Socket } from 'node:net'
import { ERRORS, type ErrorCode } from '../errors.js'

/** Node's parser codes for what the client sent → our codes; anything else it rejects is a plain BAD_REQUEST. */
const PARSER_CODES: Record<string, ErrorCode> = {
  HPE_HEADER_OVERFLOW: 'HEADERS_TOO_LARGE',
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (garbage request line, oversized headers):
 * answered in our envelope instead of Fastify's `{"error":"Bad Request","statusCode":400}`, then the socket is closed.
 */
export function clientErrorHandler(
  this: { log: { debug(obj: object, msg: string): void } },
  error: NodeJS.ErrnoException,
  socket: Socket,
): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const code = PARSER_CODES[error.code ?? ''] ?? 'BAD_REQUEST'
  const { status, message } = ERRORS[code]
  this.log.debug({ code, parser: error.code }, 'client error')
  // same rule as Node's and Fastify's own handler: write only to a socket that can still take it
  if (socket.writable) {
    const body = JSON.stringify({ error: { code, message, details: [], requestId: randomUUID() } })
    socket.write(
      `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    )
  }
  socket.destroy()
}

const reasonPhrase = (status: number) =>
  (({ 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }) as Record<number, string>)[
    status
  ] ?? 'Bad Request'
