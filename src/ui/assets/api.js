// Calls to the Carafe API from the page; the API key lives in sessionStorage only (for the browser session only).
const KEY = 'carafe.apiKey'

export class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error || {
      code: 'HTTP_' + status,
      message: 'The server answered ' + status,
      details: [],
    }
    super(error.message)
    this.status = status
    this.code = error.code
    this.details = error.details || []
  }
}

export function apiKey() {
  return sessionStorage.getItem(KEY)
}

export function saveApiKey(key) {
  sessionStorage.setItem(KEY, key)
}

function headersFor(accept) {
  const headers = { accept }
  const key = apiKey()
  if (key) headers.authorization = 'Bearer ' + key
  return headers
}

/** JSON request to the same origin; throws ApiError with the envelope's code and message. */
export async function api(method, path, body) {
  const headers = headersFor('application/json')
  if (body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  return answer(response)
}

/**
 * Read a Server-Sent Events stream with fetch, since EventSource cannot send the API key header; onEvent(name, data)
 * is called per event. Resolves when the server ends the stream.
 */
export async function streamEvents(path, onEvent) {
  const response = await fetch(path, { headers: headersFor('text/event-stream') })
  if (!response.ok) return answer(response)
  const reader = response.body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer = (buffer + decoder.decode(value, { stream: true })).replace(/\r\n?/g, '\n')
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      let name = 'message'
      const data = []
      for (const line of buffer.slice(0, end).split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim()
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
      }
      buffer = buffer.slice(end + 2)
      if (data.length > 0) onEvent(name, data.join('\n'))
    }
  }
}

async function answer(response) {
  const text = await response.text()
  let parsed
  try {
    parsed = text ? JSON.parse(text) : undefined
  } catch {
    parsed = undefined
  }
  if (!response.ok) throw new ApiError(response.status, parsed)
  return parsed
}
