import cors from '@fastify/cors'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Config } from '../config/index.js'
import { CarafeError } from '../errors.js'

/** Rate limit per API key name (or client address) inside the api scope; 429 RATE_LIMITED with Retry-After in our envelope. */
export async function registerRateLimit(api: FastifyInstance, config: Readonly<Config>): Promise<void> {
  if (config.rateLimit === 0 && Object.keys(config.keyRateLimits).length === 0) return
  const keyName = (request: FastifyRequest) => (request as FastifyRequest & { apiKeyName?: string }).apiKeyName
  await api.register(rateLimit, {
    // before the body is read, so a refused client costs no parsing and a 4xx (malformed JSON, bad input) counts too;
    // the scope's own onRequest auth hook runs first and names the key
    hook: 'onRequest',
    timeWindow: config.rateLimitWindowMs,
    max: (request) => config.keyRateLimits[keyName(request) ?? ''] ?? (config.rateLimit || Number.MAX_SAFE_INTEGER),
    keyGenerator: (request) => (keyName(request) ? `key:${keyName(request)}` : `ip:${request.ip}`),
    errorResponseBuilder: (_request, context) =>
      new CarafeError(
        'RATE_LIMITED',
        `Rate limit of ${context.max} requests per ${context.after} reached; retry later`,
        undefined,
        Math.ceil(context.ttl / 1000),
      ),
  })
}

/** CORS stays off unless origins are configured. */
export async function registerCors(app: FastifyInstance, config: Readonly<Config>): Promise<void> {
  if (config.corsOrigins.length === 0) return
  await app.register(cors, { origin: config.corsOrigins.includes('*') ? true : [...config.corsOrigins] })
}
