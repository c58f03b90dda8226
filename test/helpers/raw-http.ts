import { connect } from 'node:net'

export interface RawAnswer {
  /** null when the connection closed without a status line. */
  status: number | null
  body: string
}

/** Send bytes over a fresh TCP socket to 127.0.0.1 and read what comes back until the server closes (or `timeoutMs`). */
export function sendRaw(port: number, request: Buffer, timeoutMs = 10_000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    const socket = connect({ host: '127.0.0.1', port })
    const finish = () => {
      clearTimeout(timer)
      socket.destroy()
      resolve(parseAnswer(Buffer.concat(chunks)))
    }
    const timer = setTimeout(finish, timeoutMs)
    socket.on('data', (chunk) => chunks.push(chunk))
    // a reset after the server answered early (413 while we still write) is not a failure: read what arrived
    socket.on('error', finish)
    socket.on('close', finish)
    socket.write(request)
  })
}

/** Status line, headers and body of one HTTP/1.1 answer (Content-Length or chunked). */
export function parseAnswer(raw: Buffer): RawAnswer {
  const text = raw.toString('latin1')
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(text)
  if (!match) return { status: null, body: text }
  const split = text.indexOf('\r\n\r\n')
  const head = split === -1 ? text : text.slice(0, split)
  let body = split === -1 ? '' : text.slice(split + 4)
  if (/^transfer-encoding:\s*chunked/im.test(head)) body = dechunk(body)
  else {
    const length = /^content-length:\s*(\d+)/im.exec(head)
    if (length) body = body.slice(0, Number(length[1]))
  }
  return { status: Number(match[1]), body: Buffer.from(body, 'latin1').toString('utf8') }
}

function dechunk(body: string): string {
  let out = ''
  let at = 0
  while (at < body.length) {
    const eol = body.indexOf('\r\n', at)
    if (eol === -1) break
    const size = parseInt(body.slice(at, eol), 16)
    if (!size) break
    out += body.slice(eol + 2, eol + 2 + size)
    at = eol + 2 + size + 2
  }
  return out
}
