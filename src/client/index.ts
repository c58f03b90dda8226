// A typed client for the Carafe HTTP API; uses global fetch, so it runs in Node 20+ and browsers alike.

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
  cancelJob(id: string): Promise<Job>
}

/** The client of one model, with its instance and prediction types; `carafe client <model>` generates one per model. */
export interface ModelClient<In, Out> {
  readonly model: string
  predict(instances: In[]): Promise<Out[]>
  submitJob(instances: In[]): Promise<Job<Out>>
  getJob(id: string): Promise<Job<Out>>
  waitForJob(id: string, options?: WaitOptions<Out>): Promise<Job<Out>>
  cancelJob(id: string): Promise<Job<Out>>
}

export type ModelClientOptions = Omit<ClientOptions, 'baseUrl'>

export function createClient({ baseUrl, apiKey, pollMs = 250 }: ClientOptions): CarafeClient {
  const root = baseUrl.replace(/\/+$/, '')

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (apiKey) headers.authorization = `Bearer ${apiKey}`
    const response = await fetch(root + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    })
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

  return {
    async predict(name, instances) {
      return (await call<{ predictions: never[] }>('POST', `${model(name)}:predict`, { instances })).predictions
    },
    submitJob: (name, instances) => call('POST', `${model(name)}/jobs`, { instances }),
    getJob: (id) => call('GET', job(id)),
    cancelJob: (id) => call('DELETE', job(id)),
    async waitForJob(id, { onProgress, signal } = {}) {
      for (;;) {
        signal?.throwIfAborted()
        const current = await call<Job<never>>('GET', job(id))
        onProgress?.(current.status === 'succeeded' ? 1 : (current.progress ?? 0), current)
        if (FINISHED.includes(current.status)) return current
        await new Promise((resolve) => setTimeout(resolve, pollMs))
      }
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
    cancelJob: (id) => client.cancelJob(id) as Promise<Job<Out>>,
  }
}
