import { CarafeError, isErrorCode } from '../errors.js'
import type { ModelHandle } from '../model/index.js'

// A remote call without a timeout could hold a runner forever; 30 s matches the server's default deadline.
const REMOTE_TIMEOUT_MS = 30_000

/** A model behind another Carafe or KServe V1 server, e.g. "http://10.0.0.5:8080/v1/models/iris": POST {url}:predict. */
export function remoteModel(url: string): ModelHandle {
  let endpoint: URL
  try {
    endpoint = new URL(`${url.replace(/\/+$/, '')}:predict`)
  } catch {
    throw new TypeError(`ctx.models.get("${url}"): not a valid URL; use http://host:port/v1/models/{name}`)
  }
  return {
    async predict(instances, { timeoutMs = REMOTE_TIMEOUT_MS } = {}) {
      let response: Response
      try {
        response = await fetch(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ instances }),
          signal: AbortSignal.timeout(timeoutMs),
        })
      } catch (error) {
        if ((error as Error).name === 'TimeoutError')
          throw new CarafeError(
            'DEADLINE_EXCEEDED',
            `${endpoint.origin}${endpoint.pathname} did not answer within ${timeoutMs} ms`,
          )
        throw new Error(`${endpoint.origin}${endpoint.pathname}: ${(error as Error).message}`)
      }
      const body = (await response.json().catch(() => undefined)) as
        | { predictions?: unknown[]; error?: { code?: unknown; message?: string } }
        | undefined
      if (response.ok && Array.isArray(body?.predictions)) return body.predictions
      // A refusal from another Carafe keeps its code (say INVALID_INPUT); anything else is this model failing.
      const code = body?.error?.code
      if (isErrorCode(code) && response.status < 500)
        throw new CarafeError(code, `${endpoint.pathname}: ${body?.error?.message ?? ''}`)
      throw new Error(`${endpoint.origin}${endpoint.pathname} answered ${response.status}`)
    },
  }
}
