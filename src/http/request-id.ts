import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

// A client's id is kept when it is short and plain, so it can be logged and echoed without escaping.
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

export function requestIdFor(request: IncomingMessage): string {
  const sent = request.headers['x-request-id']
  return typeof sent === 'string' && CLIENT_REQUEST_ID.test(sent) ? sent : randomUUID()
}
