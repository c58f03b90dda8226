import { isErrorCode } from '../errors.js'
import type { FromWorker, ModelCaller, ToWorker } from './protocol.js'

/** Server side of composition: run a worker's 'call' through the named model and post the answer back to that worker. */
export function answerCall(
  message: Extract<FromWorker, { type: 'call' }>,
  caller: ModelCaller | undefined,
  reply: (message: ToWorker) => void,
): void {
  const { callId, model, instances, timeoutMs } = message
  Promise.resolve()
    .then(() => {
      if (!caller) throw Object.assign(new Error('ctx.models is not available in this runner'), { code: 'INTERNAL' })
      return caller(model, instances, { timeoutMs })
    })
    .then(
      (outputs) => reply({ type: 'call-result', callId, outputs }),
      (error) => {
        const code = (error as { code?: unknown })?.code
        reply({
          type: 'call-error',
          callId,
          code: isErrorCode(code) ? code : 'PREDICTION_FAILED',
          message: String((error as Error)?.message ?? error),
        })
      },
    )
}
