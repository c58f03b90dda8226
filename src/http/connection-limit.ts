import { readFileSync } from 'node:fs'
import type { Server } from 'node:net'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config/index.js'

// descriptors kept for model files, runner threads and processes, Redis, logs and the job log
const MIN_HEADROOM = 64
const DROP_LOG_INTERVAL_MS = 10_000

/** The soft open-file limit (`ulimit -n`) on Linux; undefined where /proc does not say. */
export function openFileLimit(read = () => readFileSync('/proc/self/limits', 'utf8')): number | undefined {
  try {
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(read())
    return match && match[1] !== 'unlimited' ? Number(match[1]) : undefined
  } catch {
    return undefined
  }
}

/** maxConnections as configured, else the open-file limit minus headroom (a tenth, at least 64). */
export function maxConnectionsFor(config: Readonly<Config>, limit = openFileLimit()): number | undefined {
  if (config.maxConnections !== undefined) return config.maxConnections
  if (limit === undefined) return undefined
  return Math.max(16, limit - Math.max(MIN_HEADROOM, Math.floor(limit / 10)))
}

/**
 * Connections past the limit are closed as they arrive (net.Server maxConnections), so the server keeps descriptors
 * for the clients it already has instead of failing them all once the process runs out; drops are logged, at most
 * one line per interval.
 */
export function limitConnections(server: Server, config: Readonly<Config>, log: FastifyBaseLogger): void {
  const max = maxConnectionsFor(config)
  if (max === undefined) return
  server.maxConnections = max
  let dropped = 0
  let lastLog = 0
  server.on('drop', () => {
    dropped++
    const now = Date.now()
    if (now - lastLog < DROP_LOG_INTERVAL_MS) return
    lastLog = now
    log.warn({ maxConnections: max, dropped }, 'connection refused: maxConnections reached')
  })
}
