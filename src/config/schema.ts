import { Type, type Static } from 'typebox'

/** Per-model serving settings; a model directory's carafe.yaml and the server config may set them. */
export const ModelSettings = Type.Object(
  {
    // false turns off the batching a bare ONNX model with a dynamic batch dimension gets by default
    batch: Type.Optional(
      Type.Union([
        Type.Literal(false),
        Type.Object(
          {
            maxSize: Type.Integer({ minimum: 1, maximum: 4096 }),
            maxDelayMs: Type.Number({ minimum: 0, maximum: 10_000 }),
          },
          { additionalProperties: false },
        ),
      ]),
    ),
    maxQueue: Type.Optional(Type.Integer({ minimum: 1 })),
    workers: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
    // 'process' runs the model in a child process: a native crash or process.exit cannot take the server down
    isolation: Type.Optional(Type.Union([Type.Literal('thread'), Type.Literal('process')])),
    intraOpThreads: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
    // this model's deadline (queue wait + batching + execution); a client may still ask for less
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    // a background job's deadline (queue wait + execution), instead of timeoutMs
    jobTimeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    // a run still busy this long is hung: its runner is killed and replaced (never decided by a client's header)
    hangTimeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    // load + setup + warm-up of a runner; past it the runner is killed and the start fails (or is retried with back-off)
    setupTimeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    // heap limit of the runner; past it the runner dies and restarts, the server stays up
    maxMemoryMb: Type.Optional(Type.Integer({ minimum: 16 })),
    // opt-in (a model may not be deterministic): an LRU of successful outputs per instance, keyed by version and input
    cache: Type.Optional(
      Type.Object(
        {
          maxEntries: Type.Integer({ minimum: 1, maximum: 10_000_000 }),
          // an entry's lifetime; 0 or absent: entries leave only when the LRU is full
          ttlMs: Type.Optional(Type.Integer({ minimum: 0 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)
export type ModelSettings = Static<typeof ModelSettings>

export const Config = Type.Object(
  {
    host: Type.String({ default: '127.0.0.1' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
    // bytes; Fastify's own default is 1 MiB, too small for image payloads
    bodyLimit: Type.Integer({ minimum: 1, default: 10 * 1024 * 1024 }),
    logLevel: Type.Union(
      [
        Type.Literal('fatal'),
        Type.Literal('error'),
        Type.Literal('warn'),
        Type.Literal('info'),
        Type.Literal('debug'),
        Type.Literal('trace'),
        Type.Literal('silent'),
      ],
      { default: 'info' },
    ),
    // the default per-request deadline covering queue wait, batching and execution
    timeoutMs: Type.Integer({ minimum: 1, default: 30_000 }),
    // the default deadline of a background job (queue wait + execution)
    jobTimeoutMs: Type.Integer({ minimum: 1, default: 60 * 60 * 1000 }),
    // the default hang threshold of a run; absent: max(the model's timeoutMs, 30 s)
    hangTimeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    // the default limit on a runner's load + setup + warm-up
    setupTimeoutMs: Type.Integer({ minimum: 1, default: 5 * 60 * 1000 }),
    maxQueue: Type.Integer({ minimum: 1, default: 1024 }),
    maxInstances: Type.Integer({ minimum: 1, default: 1024 }),
    jobs: Type.String({ default: 'embedded' }),
    dataDir: Type.String({ default: '.carafe' }),
    // where the management API's changes are kept across restarts (default dataDir/admin-state.json); false: memory only
    adminStateFile: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Literal(false)])),
    // background jobs run at once per server; the rest wait so the sync API keeps its runners
    jobConcurrency: Type.Integer({ minimum: 1, maximum: 4096, default: 64 }),
    // finished jobs (and their results) are kept this long, then removed
    jobRetentionMs: Type.Integer({ minimum: 0, default: 24 * 60 * 60 * 1000 }),
    // embedded store: a job found running after a crash runs again until it was started this many times, then fails
    jobMaxAttempts: Type.Integer({ minimum: 1, default: 3 }),
    // job webhooks may only call these hosts ("host" or "host:port"), so the server is no open relay
    webhookHosts: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    // HMAC-SHA256 key for the x-carafe-signature header; webhooks are refused while it is empty
    webhookSecret: Type.String({ default: '' }),
    apiKeys: Type.Array(Type.String({ minLength: 16 }), { default: [] }),
    // `name: key` lines (or a YAML map); re-read on SIGHUP and when the file changes
    apiKeysFile: Type.Optional(Type.String({ minLength: 1 })),
    // false: /metrics is open like the health routes; true: it needs a key when keys are configured
    metricsAuth: Type.Boolean({ default: false }),
    // false: with keys configured, /, /openapi.json and /docs need a key too (they show every model and its schema);
    // true: they stay open to anyone who can reach the server
    publicDocs: Type.Boolean({ default: false }),
    tlsCert: Type.Optional(Type.String({ minLength: 1 })),
    tlsKey: Type.Optional(Type.String({ minLength: 1 })),
    http2: Type.Boolean({ default: false }),
    // requests per window per API key (or client address without one); 0 turns the limit off
    rateLimit: Type.Integer({ minimum: 0, default: 0 }),
    rateLimitWindowMs: Type.Integer({ minimum: 1000, maximum: 86_400_000, default: 60_000 }),
    // failed API key checks per client address per rateLimitWindowMs; past it the address gets 429 until the window
    // ends, whatever key it sends (0 turns the throttle off)
    authFailureLimit: Type.Integer({ minimum: 0, default: 20 }),
    // per named key (from the key file): requests per window, overriding rateLimit
    keyRateLimits: Type.Record(Type.String(), Type.Integer({ minimum: 0 }), { default: {} }),
    // CORS is off until origins are listed ("*" allows any)
    corsOrigins: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    // open connections at once; more are closed as they arrive. Default: the open-file limit minus headroom
    maxConnections: Type.Optional(Type.Integer({ minimum: 1 })),
    connectionTimeoutMs: Type.Integer({ minimum: 0, default: 0 }),
    keepAliveTimeoutMs: Type.Integer({ minimum: 1, default: 72_000 }),
    requestTimeoutMs: Type.Integer({ minimum: 0, default: 60_000 }),
    // job submits are refused (503 JOBS_OVERLOADED) while this many jobs wait to run
    maxJobQueue: Type.Integer({ minimum: 1, default: 10_000 }),
    // on SIGTERM, /readyz answers 503 "draining" this long while requests are still served (a load balancer's
    // health check takes the replica out of rotation before the listener closes); then the ordered shutdown
    drainDelayMs: Type.Integer({ minimum: 0, default: 0 }),
    // bounds the shutdown after the drain: accepted requests and running jobs get this long, then jobs go back to
    // the queue and runners are stopped
    shutdownTimeoutMs: Type.Integer({ minimum: 0, default: 30_000 }),
    // model directories are rescanned this often (and on every file change fs.watch reports); 0 turns watching off
    // (reloads then happen only on POST /v1/admin/reload, the admin model routes and SIGHUP)
    repositoryPollMs: Type.Integer({ minimum: 0, default: 2_000 }),
    // refuse (507 MEMORY_BUDGET_EXCEEDED) a model load that would take the process RSS past this many MB
    memoryBudgetMb: Type.Optional(Type.Integer({ minimum: 1 })),
    // per-model settings by model name, merged onto the model's own settings
    models: Type.Record(Type.String(), ModelSettings, { default: {} }),
  },
  { additionalProperties: false },
)
export type Config = Static<typeof Config>
