import type { InferenceSession } from 'onnxruntime-node'

export type JsonSchema = Record<string, unknown>

export interface BatchPolicy {
  maxSize: number
  maxDelayMs: number
}

export interface Logger {
  info(obj: unknown, msg?: string): void
  warn(obj: unknown, msg?: string): void
  error(obj: unknown, msg?: string): void
}

export interface SetupContext {
  /** The folder the model was loaded from: weights and other files live here. */
  dir: string
  /** Open an ONNX file relative to `dir` with the server's session options. */
  onnx(path: string): Promise<InferenceSession>
  log: Logger
}

/** Another served model, as a handler sees it through ctx.models. */
export interface ModelHandle {
  /** Validated, queued and batched like an HTTP request to that model; calls made together run concurrently. */
  predict(instances: unknown[], options?: { timeoutMs?: number }): Promise<unknown[]>
}

/** The models served by the same server, by name, or another Carafe / KServe V1 server's by URL (http://host/v1/models/{name}). */
export interface Models {
  get(nameOrUrl: string): ModelHandle
}

export interface PredictContext {
  /** Fired when the request is abandoned or its job is cancelled; long handlers should stop early. */
  signal: AbortSignal
  /** Report progress of a background job, 0..1. Ignored for synchronous requests. */
  progress(fraction: number): void
  log: Logger
  /** The other models of this server (composition); set by Carafe's worker runners. */
  models?: Models
}

export interface ModelDefinition<In = unknown, Out = unknown> {
  name: string
  description?: string
  version?: string
  /** JSON Schema of one instance (TypeBox schemas are JSON Schema). */
  input: JsonSchema
  /** JSON Schema of one prediction; outputs are checked against it. */
  output?: JsonSchema
  batch?: BatchPolicy
  labels?: string[]
  examples?: In[]
  setup?(ctx: SetupContext): Promise<void> | void
  /** Always receives a batch, even a batch of one; returns one output per input, in order. */
  predict(inputs: In[], ctx: PredictContext): Promise<Out[]> | Out[]
}

/** Adds types and checks the shape early; a plain object with the same fields works too. */
export function defineModel<In = unknown, Out = unknown>(
  definition: ModelDefinition<In, Out>,
): ModelDefinition<In, Out> {
  const problem = definitionProblem(definition)
  if (problem) throw new TypeError(`defineModel: ${problem}`)
  return definition
}

/** Why a value is not a usable model definition, or undefined when it is. */
export function definitionProblem(value: unknown): string | undefined {
  if (!value || typeof value !== 'object')
    return 'default export is not a defineModel(...) result; did you forget "export default"?'
  const def = value as Partial<ModelDefinition>
  if (typeof def.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(def.name)) {
    return 'name must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit'
  }
  if (!def.input || typeof def.input !== 'object') return 'input must be a JSON Schema object describing one instance'
  if (def.output !== undefined && (typeof def.output !== 'object' || def.output === null))
    return 'output must be a JSON Schema object'
  if (typeof def.predict !== 'function') return 'predict(inputs, ctx) must be a function'
  if (def.setup !== undefined && typeof def.setup !== 'function') return 'setup(ctx) must be a function'
  if (
    def.batch !== undefined &&
    !(Number.isInteger(def.batch.maxSize) && def.batch.maxSize >= 1 && def.batch.maxDelayMs >= 0)
  ) {
    return 'batch must be { maxSize: integer >= 1, maxDelayMs: number >= 0 }'
  }
  return undefined
}
