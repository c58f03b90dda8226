export interface ServerSentEvent {
  event: string
  data: string
  id?: string
}

/** The events of a text/event-stream body as they arrive (WHATWG HTML's format: `field: value` lines, blank line ends). */
export async function* serverSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buffer = (buffer + decoder.decode(value, { stream: true })).replace(/\r\n?/g, '\n')
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const event: ServerSentEvent = { event: 'message', data: '' }
        const data: string[] = []
        for (const line of block.split('\n')) {
          if (line === '' || line.startsWith(':')) continue // a comment: the server's keep-alive
          const colon = line.indexOf(':')
          const field = colon < 0 ? line : line.slice(0, colon)
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
          if (field === 'event') event.event = value
          else if (field === 'data') data.push(value)
          else if (field === 'id') event.id = value
        }
        if (data.length === 0) continue
        event.data = data.join('\n')
        yield event
      }
    }
  } finally {
    reader.releaseLock()
  }
}
