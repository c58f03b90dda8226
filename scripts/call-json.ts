import { type Agent, request } from 'node:http'

/** An answer as the fault scripts read it: status 0 and the error text when the request never got one. */
export interface JsonAnswer {
  status: number
  // biome-ignore lint/suspicious/noExplicitAny: the scripts read whatever body a check expects
  json: any
  ms: number
}

/** One HTTP call with an optional JSON body; the answer parsed as JSON when it is, else its text. Never rejects. */
export function callJson(
  url: string,
  method: string,
  {
    body,
    headers = {},
    agent,
    timeoutMs,
  }: { body?: unknown; headers?: Record<string, string>; agent: Agent; timeoutMs: number },
): Promise<JsonAnswer> {
  const text = body === undefined ? undefined : JSON.stringify(body)
  const started = performance.now()
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method,
        agent,
        timeout: timeoutMs,
        headers: {
          ...headers,
          ...(text ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) } : {}),
        },
      },
      (res) => {
        let data = ''
        res.setEncoding('utf8')
        res.on('data', (chunk) => (data += chunk))
        res.on('end', () => {
          let json: unknown
          try {
            json = JSON.parse(data)
          } catch {
            json = data
          }
          resolve({ status: res.statusCode ?? 0, json, ms: performance.now() - started })
        })
      },
    )
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', (error) => resolve({ status: 0, json: String(error), ms: performance.now() - started }))
    req.end(text)
  })
}
