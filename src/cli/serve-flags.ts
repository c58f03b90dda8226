import type { Command } from 'commander'

/** Every `carafe serve` flag that maps to a config key; numbers stay strings when they don't parse, so the schema names the bad value. */
const FLAGS: {
  flag: string
  key: string
  kind: 'string' | 'number' | 'boolean' | 'list' | 'file-or-off'
  help: string
}[] = [
  { flag: '-p, --port <port>', key: 'port', kind: 'number', help: 'port to listen on (default 8080)' },
  { flag: '--host <host>', key: 'host', kind: 'string', help: 'address to bind (default 127.0.0.1)' },
  {
    flag: '--log-level <level>',
    key: 'logLevel',
    kind: 'string',
    help: 'fatal, error, warn, info, debug, trace or silent',
  },
  {
    flag: '--api-keys-file <file>',
    key: 'apiKeysFile',
    kind: 'string',
    help: '`name: key` lines; re-read on SIGHUP and on change',
  },
  { flag: '--tls-cert <file>', key: 'tlsCert', kind: 'string', help: 'PEM certificate: serve HTTPS' },
  { flag: '--tls-key <file>', key: 'tlsKey', kind: 'string', help: 'PEM private key for --tls-cert' },
  { flag: '--http2', key: 'http2', kind: 'boolean', help: 'serve HTTP/2 (with TLS, HTTP/1.1 clients still work)' },
  { flag: '--jobs <store>', key: 'jobs', kind: 'string', help: '"embedded" or a redis:// URL' },
  { flag: '--data-dir <dir>', key: 'dataDir', kind: 'string', help: 'where the embedded job store keeps its files' },
  {
    flag: '--admin-state-file <file>',
    key: 'adminStateFile',
    kind: 'file-or-off',
    help: 'where management API changes are kept across restarts (default <data-dir>/admin-state.json; "false": memory only)',
  },
  { flag: '--timeout-ms <ms>', key: 'timeoutMs', kind: 'number', help: 'per-request deadline' },
  { flag: '--body-limit <bytes>', key: 'bodyLimit', kind: 'number', help: 'largest request body' },
  { flag: '--max-queue <n>', key: 'maxQueue', kind: 'number', help: 'waiting requests per model before 503' },
  { flag: '--max-instances <n>', key: 'maxInstances', kind: 'number', help: 'instances per request before 400' },
  {
    flag: '--rate-limit <n>',
    key: 'rateLimit',
    kind: 'number',
    help: 'requests per window per key or address (0: off)',
  },
  {
    flag: '--cors-origins <list>',
    key: 'corsOrigins',
    kind: 'list',
    help: 'comma-separated origins allowed by CORS (off by default)',
  },
  { flag: '--metrics-auth', key: 'metricsAuth', kind: 'boolean', help: 'require an API key on /metrics' },
  { flag: '--max-job-queue <n>', key: 'maxJobQueue', kind: 'number', help: 'waiting jobs before submits get 503' },
  {
    flag: '--drain-delay-ms <ms>',
    key: 'drainDelayMs',
    kind: 'number',
    help: 'on SIGTERM, report not ready this long while still serving',
  },
  {
    flag: '--repository-poll-ms <ms>',
    key: 'repositoryPollMs',
    kind: 'number',
    help: 'rescan model directories this often (0: no watching; reload on SIGHUP or the admin API)',
  },
  {
    flag: '--memory-budget-mb <mb>',
    key: 'memoryBudgetMb',
    kind: 'number',
    help: 'refuse a model load that would take the process RSS past this',
  },
  {
    flag: '--shutdown-timeout-ms <ms>',
    key: 'shutdownTimeoutMs',
    kind: 'number',
    help: 'bound on finishing accepted work at shutdown',
  },
]

export function addServeFlags(command: Command): Command {
  for (const { flag, help } of FLAGS) command.option(flag, help)
  return command
}

/** Commander's option values → config keys, typed. */
export function configFlags(options: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const { key, kind } of FLAGS) {
    const raw = options[key]
    if (raw === undefined) continue
    if (kind === 'number') out[key] = /^\s*-?\d+(\.\d+)?\s*$/.test(String(raw)) ? Number(raw) : raw
    else if (kind === 'list')
      out[key] = String(raw)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    else if (kind === 'file-or-off') out[key] = String(raw).trim().toLowerCase() === 'false' ? false : raw
    else out[key] = raw
  }
  return out
}
