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

/** JSON request to the same origin; throws ApiError with the envelope's code and message. */
export async function api(method, path, body) {
  const headers = { accept: 'application/json' }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const key = apiKey()
  if (key) headers.authorization = 'Bearer ' + key
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
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
