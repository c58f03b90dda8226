// A typed client for the Carafe HTTP API; uses global fetch, so it runs in Node 20+ and browsers alike.
import { serverSentEvents } from './sse.js'

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled'

export interface Job<Out = unknown> {
  id: string
  status: JobState
  progress?: number
  result?: { predictions: Out[] }
  error?: { code: string; message: string; details?: unknown[] }
  links?: Record<string, string>
}

export interface ClientOptions {
  baseUrl: string
  apiKey?: string
  /** Milliseconds between polls in waitForJob. */
  pollMs?: number
}

/** An error answer from the server, carrying its stable code (see the ERRORS table). */
export class CarafeApiError extends Error {
  override name = 'CarafeApiError'
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown[] = [],
    readonly requestId?: string,
  ) {
    super(message)
  }
}

const FINISHED: JobState[] = ['succeeded', 'failed', 'canceled']

export interface WaitOptions<Out = unknown> {
  onProgress?: (progress: number, job: Job<Out>) => void
  signal?: AbortSignal
}

export interface CarafeClient {
  predict<In = unknown, Out = unknown>(model: string, instances: In[]): Promise<Out[]>
  submitJob<In = unknown>(model: string, instances: In[]): Promise<Job>
  getJob<Out = unknown>(id: string): Promise<Job<Out>>
  waitForJob<Out = unknown>(id: string, options?: WaitOptions<Out>): Promise<Job<Out>>
  /** Submit a job and follow its event stream (no polling) to its final state, which is returned whatever it is. */
  submitAndWait<In = unknown, Out = unknown>(
    model: string,
    instances: In[],
    options?: WaitOptions<Out>,
  ): Promise<Job<Out>>
  cancelJob(id: string): Promise<Job>
}

/** The client of one model, with its instance and prediction types; `carafe client <model>` generates one per model. */
export interface ModelClient<In, Out> {
  readonly model: string
  predict(instances: In[]): Promise<Out[]>
  submitJob(instances: In[]): Promise<Job<Out>>
  getJob(id: string): Promise<Job<Out>>
  waitForJob(id: string, options?: WaitOptions<Out>): Promise<Job<Out>>
  submitAndWait(instances: In[], options?: WaitOptions<Out>): Promise<Job<Out>>
  cancelJob(id: string): Promise<Job<Out>>
}

export type ModelClientOptions = Omit<ClientOptions, 'baseUrl'>

export function createClient({ baseUrl, apiKey, pollMs = 250 }: ClientOptions): CarafeClient {
  const root = baseUrl.replace(/\/+$/, '')

  async function call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (apiKey) headers.authorization = `Bearer ${apiKey}`
    const response = await fetch(root + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    })
    return answer<T>(response, method, path)
  }

  async function answer<T>(response: Response, method: string, path: string): Promise<T> {
    const text = await response.text()
    let parsed: { error?: { code?: string; message?: string; details?: unknown[]; requestId?: string } } | undefined
    try {
      parsed = text ? JSON.parse(text) : undefined
    } catch {
      parsed = undefined
    }
    if (!response.ok) {
      const e = parsed?.error
      throw new CarafeApiError(
        response.status,
        e?.code ?? `HTTP_${response.status}`,
        e?.message ?? `${method} ${path} answered ${response.status}`,
        e?.details ?? [],
        e?.requestId,
      )
    }
    return parsed as T
  }

  const model = (name: string) => `/v1/models/${encodeURIComponent(name)}`
  const job = (id: string) => `/v1/jobs/${encodeURIComponent(id)}`

  async function waitForJob<Out>(id: string, { onProgress, signal }: WaitOptions<Out> = {}): Promise<Job<Out>> {
    for (;;) {
      signal?.throwIfAborted()
      const current = await call<Job<Out>>('GET', job(id), undefined, signal)
      onProgress?.(current.status === 'succeeded' ? 1 : (current.progress ?? 0), current)
      if (FINISHED.includes(current.status)) return current
      await new Promise((resolve) => setTimeout(resolve, pollMs))
    }
  }

  /** Follow GET /v1/jobs/{id}/events to the `done` event; reconnect if the stream is cut before it. */
  async function followJob<Out>(id: string, { onProgress, signal }: WaitOptions<Out> = {}): Promise<Job<Out>> {
    for (;;) {
      signal?.throwIfAborted()
      const headers: Record<string, string> = { accept: 'text/event-stream' }
      if (apiKey) headers.authorization = `Bearer ${apiKey}`
      const path = `${job(id)}/events`
      const response = await fetch(root + path, { headers, signal })
      // [compat] a server without the event stream (404 NOT_FOUND for the route, not JOB_NOT_FOUND) is polled
      if (response.status === 404) {
        const error = await answer<never>(response, 'GET', path).catch((e: CarafeApiError) => e)
        if (error.code === 'NOT_FOUND') return waitForJob(id, { onProgress, signal })
        throw error
      }
      if (!response.ok || !response.body) return answer(response, 'GET', path)
      for await (const event of serverSentEvents(response.body)) {
        const current = JSON.parse(event.data) as Job<Out>
        const final = event.event === 'done'
        if (final || event.event === 'progress')
          onProgress?.(current.status === 'succeeded' ? 1 : (current.progress ?? 0), current)
        if (final) return current
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs)) // cut by a proxy or a restarting server
    }
  }

  return {
    async predict(name, instances) {
      return (await call<{ predictions: never[] }>('POST', `${model(name)}:predict`, { instances })).predictions
    },
    submitJob: (name, instances) => call('POST', `${model(name)}/jobs`, { instances }),
    getJob: (id) => call('GET', job(id)),
    cancelJob: (id) => call('DELETE', job(id)),
    waitForJob,
    async submitAndWait(name, instances, options = {}) {
      const created = await call<Job>('POST', `${model(name)}/jobs`, { instances }, options.signal)
      return followJob(created.id, options)
    },
  }
}

/** A client bound to one model name; the types are the caller's word (generated code passes the schema's types). */
export function createModelClient<In, Out>(model: string, options: ClientOptions): ModelClient<In, Out> {
  const client = createClient(options)
  return {
    model,
    predict: (instances) => client.predict<In, Out>(model, instances),
    submitJob: (instances) => client.submitJob(model, instances) as Promise<Job<Out>>,
    getJob: (id) => client.getJob<Out>(id),
    waitForJob: (id, wait) => client.waitForJob<Out>(id, wait),
    submitAndWait: (instances, wait) => client.submitAndWait<In, Out>(model, instances, wait),
    cancelJob: (id) => client.cancelJob(id) as Promise<Job<Out>>,
  }
}
