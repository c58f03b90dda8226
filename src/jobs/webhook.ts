import { createHmac } from 'node:crypto'
import { CarafeError } from '../errors.js'
import type { JobRecord } from './store.js'
import { jobView } from './view.js'

export const SIGNATURE_HEADER = 'x-carafe-signature'
const ATTEMPTS = 6 // 0.25 + 0.5 + 1 + 2 + 4 s of back-off: a receiver may restart in between
const FIRST_DELAY_MS = 250
const REQUEST_TIMEOUT_MS = 10_000

/** `sha256=<hex>` of the exact body bytes, keyed by the configured secret. */
export function signWebhook(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

/** Refuse a webhook URL at submit unless its host is allowed by config (no open relay). */
export function checkWebhook(raw: string, allowedHosts: readonly string[], secret: string): void {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new CarafeError('WEBHOOK_NOT_ALLOWED', `webhook is not a URL: ${JSON.stringify(raw.slice(0, 100))}`, [
      { field: 'webhook' },
    ])
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CarafeError('WEBHOOK_NOT_ALLOWED', 'webhook must be an http:// or https:// URL', [{ field: 'webhook' }])
  }
  if (!secret)
    throw new CarafeError(
      'WEBHOOK_NOT_ALLOWED',
      'webhooks are off: set webhookSecret (and webhookHosts) in the server config',
      [{ field: 'webhook' }],
    )
  if (!allowedHosts.includes(url.host) && !allowedHosts.includes(url.hostname)) {
    throw new CarafeError('WEBHOOK_NOT_ALLOWED', `webhook host "${url.host}" is not in webhookHosts`, [
      { field: 'webhook', host: url.host },
    ])
  }
}

/** POST the final status, signed, retrying with exponential back-off on network errors and non-2xx answers. */
export async function deliverWebhook(
  job: JobRecord,
  secret: string,
  log?: { warn(obj: unknown, msg: string): void },
): Promise<boolean> {
  const body = JSON.stringify(jobView(job))
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, FIRST_DELAY_MS * 2 ** (attempt - 1)))
    try {
      const response = await fetch(job.webhook!, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signWebhook(body, secret),
          'x-carafe-job-id': job.id,
        },
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        // a redirect could lead anywhere, past webhookHosts: never followed, and not retried (it would say the same)
        redirect: 'manual',
      })
      await response.arrayBuffer().catch(() => undefined)
      if (response.ok) return true
      if (response.status >= 300 && response.status < 400) {
        log?.warn(
          { job: job.id, status: response.status, location: response.headers.get('location') },
          'webhook answered with a redirect; not followed (list the final host in webhookHosts and use its URL)',
        )
        return false
      }
      log?.warn({ job: job.id, status: response.status, attempt }, 'webhook answered with an error; retrying')
    } catch (error) {
      log?.warn({ job: job.id, err: (error as Error).message, attempt }, 'webhook failed; retrying')
    }
  }
  return false
}
