export interface SseEvent {
  event: string
  data: string
  id?: string
}

/** Parse a text/event-stream body into its events, as they arrive; ends when the server closes the stream. */
export async function* readEvents(response: Response): AsyncGenerator<SseEvent> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += value
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const event: SseEvent = { event: 'message', data: '' }
      const data: string[] = []
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue
        const [field, ...rest] = line.split(':')
        const value = rest.join(':').replace(/^ /, '')
        if (field === 'event') event.event = value
        else if (field === 'data') data.push(value)
        else if (field === 'id') event.id = value
      }
      if (data.length === 0) continue
      event.data = data.join('\n')
      yield event
    }
  }
}
