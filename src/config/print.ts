import type { Config } from './schema.js'

/** Keep the last 4 characters so an operator can tell keys apart without the config leaking them. */
export function maskSecret(secret: string): string {
  return secret.length <= 8 ? '****' : `****${secret.slice(-4)}`
}

/** The merged config as YAML-ready data with every secret masked (for `carafe serve --print-config`). */
export function maskedConfig(config: Readonly<Config>): Record<string, unknown> {
  return { ...config, apiKeys: config.apiKeys.map(maskSecret), jobs: maskUrlPassword(config.jobs) }
}

// redis://user:password@host → redis://user:****@host
function maskUrlPassword(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@]*@/i, '$1****@')
}
