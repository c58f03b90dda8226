import type { ErrorCode } from '../errors.js'
import type { ModelDescriptor, PackedRows } from '../model/index.js'

export interface RunnerOptions {
  intraOpNumThreads?: number
}

/** Messages from the server to a runner. */
export type ToWorker =
  | { type: 'init'; descriptor: ModelDescriptor; options: RunnerOptions }
  | { type: 'predict'; id: number; inputs: unknown[] | PackedRows } // PackedRows: one transferred buffer for an ONNX batch
  | { type: 'cancel'; id: number }
  | { type: 'shutdown' }
  | { type: 'call-result'; callId: number; outputs: unknown[] }
  | { type: 'call-error'; callId: number; code: ErrorCode; message: string }

/** Messages from a runner to the server. */
export type FromWorker =
  | { type: 'ready'; warmupMs: number }
  | { type: 'result'; id: number; outputs: unknown[] }
  | { type: 'error'; id: number; code: ErrorCode; message: string; details?: unknown[]; stack?: string }
  | { type: 'progress'; id: number; fraction: number }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; obj: unknown; msg?: string }
  | { type: 'fatal'; message: string; stack?: string } // the worker is about to exit
  | { type: 'call'; callId: number; model: string; instances: unknown[]; timeoutMs?: number } // ctx.models.get(model).predict(instances)

/** How the server answers a handler's ctx.models call: the named model's predict, as for an HTTP request. */
export type ModelCaller = (model: string, instances: unknown[], options: { timeoutMs?: number }) => Promise<unknown[]>
