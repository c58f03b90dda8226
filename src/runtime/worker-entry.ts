import { parentPort } from 'node:worker_threads'
import type { FromWorker, ToWorker } from './protocol.js'
import { servePort } from './serve-port.js'

// Runs inside the worker thread (isolation: thread, the default).
const port = parentPort!
servePort({
  send: (message: FromWorker) => port.postMessage(message),
  onMessage: (fn) => port.on('message', (message: ToWorker) => fn(message)),
  close: () => port.close(),
})
