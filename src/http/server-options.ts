import { readFileSync } from 'node:fs'
import type { Config } from '../config/index.js'
import { ConfigError } from '../config/index.js'
import { MAX_CONCURRENT_STREAMS } from './http2-limits.js'

/** Fastify's server options from the config: TLS, HTTP/2 and the connection/header timeouts. */
export function serverOptions(config: Readonly<Config>): Record<string, unknown> {
  const timeouts = {
    connectionTimeout: config.connectionTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
  }
  if (!config.tlsCert && !config.tlsKey) {
    if (config.http2)
      throw new ConfigError('config: http2 needs tlsCert and tlsKey (browsers speak HTTP/2 only over TLS)')
    return timeouts
  }
  if (!config.tlsCert || !config.tlsKey)
    throw new ConfigError('config: tlsCert and tlsKey go together; give both or neither')
  // allowHTTP1: an HTTP/2 server still answers HTTP/1.1 clients (curl without --http2, load balancer health checks)
  const https = {
    cert: readPem(config.tlsCert, 'tlsCert'),
    key: readPem(config.tlsKey, 'tlsKey'),
    ...(config.http2 ? { allowHTTP1: true, settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS } } : {}),
  }
  return { ...timeouts, https, ...(config.http2 ? { http2: true } : {}) }
}

function readPem(path: string, key: string): Buffer {
  try {
    return readFileSync(path)
  } catch (error) {
    throw new ConfigError(
      `config: ${key} cannot be read (${JSON.stringify(path)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    )
  }
}
