import type { FromWorker, ToWorker } from './protocol.js'
import { servePort } from './serve-port.js'

// Runs inside a child process (isolation: process): a native crash or process.exit here cannot take the server down.
servePort({
  send: (message: FromWorker) => {
    if (process.connected) process.send!(message)
  },
  onMessage: (fn) => process.on('message', (message) => fn(message as ToWorker)),
  close: () => process.disconnect(),
})
// the server going away (even by SIGKILL) closes the IPC channel: do not outlive it
process.on('disconnect', () => process.exit(0))
