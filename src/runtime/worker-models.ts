import { CarafeError } from '../errors.js'
import type { ModelHandle, Models } from '../model/index.js'
import type { FromWorker, ToWorker } from './protocol.js'
import { remoteModel } from './remote-model.js'

type CallAnswer = Extract<ToWorker, { type: 'call-result' | 'call-error' }>

/** Worker side of composition: ctx.models.get(name).predict(...) posts a 'call' and waits for the server's answer. */
export class WorkerModels implements Models {
  #nextId = 1
  readonly #pending = new Map<number, { resolve(outputs: unknown[]): void; reject(error: Error): void }>()
  readonly #self: string
  readonly #send: (message: FromWorker) => void

  constructor(self: string, send: (message: FromWorker) => void) {
    this.#self = self
    this.#send = send
  }

  get(name: string): ModelHandle {
    if (typeof name !== 'string' || name.length === 0)
      throw new TypeError('ctx.models.get(name): name must be the name of a served model')
    if (/^https?:\/\//.test(name)) return remoteModel(name)
    // A model waiting on its own queue while holding its runner would wait until its deadline.
    if (name === this.#self) throw new TypeError(`ctx.models.get("${name}"): a model cannot call itself`)
    return {
      predict: (instances, options = {}) =>
        new Promise((resolve, reject) => {
          if (!Array.isArray(instances))
            return reject(new TypeError(`ctx.models.get("${name}").predict(instances): instances must be an array`))
          const callId = this.#nextId++
          this.#pending.set(callId, { resolve, reject })
          this.#send({
            type: 'call',
            callId,
            model: name,
            instances,
            ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
          })
        }),
    }
  }

  settle(message: CallAnswer): void {
    const pending = this.#pending.get(message.callId)
    this.#pending.delete(message.callId)
    if (!pending) return
    if (message.type === 'call-result') pending.resolve(message.outputs)
    // The called model's code travels on: an INVALID_IMAGE from text-detection is the caller's client's 400 too.
    else pending.reject(new CarafeError(message.code, message.message))
  }
}
