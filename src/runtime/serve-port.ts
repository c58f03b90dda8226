import { isErrorCode } from '../errors.js'
import {
  instantiate,
  isPackedRows,
  sampleInstance,
  unpackRows,
  type LoadedModel,
  type Logger,
  type PackedRows,
} from '../model/index.js'
import { WorkerModels } from './worker-models.js'
import type { FromWorker, ToWorker } from './protocol.js'

export interface Port {
  send(message: FromWorker): void
  onMessage(fn: (message: ToWorker) => void): void
  close(): void
}

/** The runner's side of the protocol: load the model once, then answer predict messages. Thread and process entries share it. */
export function servePort(port: Port): void {
  const send = port.send
  const log: Logger = {
    info: (obj, msg) => send({ type: 'log', level: 'info', obj: plain(obj), msg }),
    warn: (obj, msg) => send({ type: 'log', level: 'warn', obj: plain(obj), msg }),
    error: (obj, msg) => send({ type: 'log', level: 'error', obj: plain(obj), msg }),
  }
  const controllers = new Map<number, AbortController>()
  let model: LoadedModel | undefined
  let models: WorkerModels | undefined

  port.onMessage((message) => {
    switch (message.type) {
      case 'init':
        void init(message)
        break
      case 'predict':
        void predict(message.id, message.inputs)
        break
      case 'cancel':
        controllers.get(message.id)?.abort()
        break
      case 'shutdown':
        port.close()
        break
      case 'call-result':
      case 'call-error':
        models?.settle(message)
        break
    }
  })

  async function init({ descriptor, options }: Extract<ToWorker, { type: 'init' }>): Promise<void> {
    try {
      models = new WorkerModels(descriptor.name, send)
      model = await instantiate(descriptor, log, options)
      await model.setup()
      const started = performance.now()
      const sample = descriptor.examples[0] ?? sampleInstance(descriptor.input)
      if (sample === undefined)
        log.warn(
          { model: descriptor.name },
          'no example input and none can be derived from the schema: warm-up skipped',
        )
      else await model.predict([sample], { signal: new AbortController().signal, progress() {}, log, models })
      send({ type: 'ready', warmupMs: performance.now() - started })
    } catch (error) {
      send({
        type: 'fatal',
        message: `${descriptor.name}: setup or warm-up failed: ${(error as Error)?.message ?? error}`,
        stack: (error as Error)?.stack,
      })
      // let the message flush before the exit ends the thread or process
      setTimeout(() => process.exit(1), 20)
    }
  }

  async function predict(id: number, inputs: unknown[] | PackedRows): Promise<void> {
    const controller = new AbortController()
    controllers.set(id, controller)
    try {
      const outputs = await model!.predict(isPackedRows(inputs) ? unpackRows(inputs) : inputs, {
        signal: controller.signal,
        progress: (fraction) =>
          send({ type: 'progress', id, fraction: Math.min(1, Math.max(0, Number(fraction) || 0)) }),
        log,
        models,
      })
      send({ type: 'result', id, outputs })
    } catch (error) {
      const code = (error as { code?: unknown })?.code
      const details = (error as { details?: unknown })?.details
      send({
        type: 'error',
        id,
        // A handler may throw a CarafeError (say INVALID_INPUT for a semantic check); anything else is the model failing.
        code: isErrorCode(code) ? code : 'PREDICTION_FAILED',
        message: String((error as Error)?.message ?? error),
        ...(isErrorCode(code) && Array.isArray(details) ? { details: plain(details) as unknown[] } : {}),
        stack: (error as Error)?.stack,
      })
    } finally {
      controllers.delete(id)
    }
  }
}

function plain(obj: unknown): unknown {
  if (obj instanceof Error) return { err: { message: obj.message, stack: obj.stack } }
  try {
    return structuredClone(obj)
  } catch {
    return String(obj)
  }
}
