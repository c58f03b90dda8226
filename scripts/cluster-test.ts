// npm run cluster-test: HAProxy in front of 3 `carafe serve` replicas sharing one Redis job queue, under steady sync
// and job load, through (a) a rolling restart, (b) SIGKILL of one replica, (c) one replica's model crash-looping.
// Prints a table of requests and jobs per phase. Bounded: about two minutes; traffic only to 127.0.0.1.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { Agent } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '../test/helpers/redis-server.js'
import { callJson } from './call-json.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const CLI = join(ROOT, 'bin', 'carafe.js')
const MODEL = join(ROOT, 'scripts', 'cluster', 'model.ts')
const REDIS = process.env.CARAFE_CLUSTER_REDIS ?? 'redis://127.0.0.1:6379'
const SYNC_CLIENTS = 12
const JOBS_PER_SECOND = 40
const DRAIN_DELAY_MS = 1500

type Phase = 'baseline' | 'rolling restart' | 'SIGKILL one replica' | 'one model crash-looping'
interface Replica {
  name: string
  port: number
  poison: string
  child?: ChildProcess
}

const work = mkdtempSync(join(tmpdir(), 'carafe-cluster-'))
const executions = join(work, 'executions.log')
writeFileSync(executions, '')
const prefix = `carafe-cluster:${randomUUID()}`
const agent = new Agent({ keepAlive: true, maxSockets: 64 })
let phase: Phase = 'baseline'
const sync = new Map<Phase, Map<string, number>>()
const jobSubmits = new Map<Phase, Map<string, number>>()
const accepted: string[] = []
let inFlightAtKill = 0
let inFlight = 0
let running = true

function count(table: Map<Phase, Map<string, number>>, outcome: string): void {
  const row = table.get(phase) ?? new Map<string, number>()
  row.set(outcome, (row.get(outcome) ?? 0) + 1)
  table.set(phase, row)
}

const call = (url: string, method: string, body?: unknown) => callJson(url, method, { body, agent, timeoutMs: 15_000 })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (await check()) return
    await sleep(100)
  }
  throw new Error(`cluster-test: ${what} did not happen within ${timeoutMs} ms`)
}

function start(replica: Replica): void {
  replica.child = spawn(
    process.execPath,
    [
      CLI,
      'serve',
      MODEL,
      '--port',
      String(replica.port),
      '--jobs',
      `${REDIS}?prefix=${prefix}&lockDuration=4000&stalledInterval=1000`,
      '--data-dir',
      join(work, replica.name),
      '--log-level',
      'warn',
    ],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env,
        CARAFE_DRAIN_DELAY_MS: String(DRAIN_DELAY_MS),
        CARAFE_CLUSTER_LOG: executions,
        CARAFE_CLUSTER_POISON: replica.poison,
      },
    },
  )
}

async function ready(replica: Replica): Promise<void> {
  await waitFor(
    `${replica.name} ready`,
    async () => (await call(`http://127.0.0.1:${replica.port}/readyz`, 'GET')).status === 200,
  )
}

function stop(replica: Replica, signal: NodeJS.Signals): Promise<void> {
  const child = replica.child!
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill(signal) // our own child, by its handle
  })
}

function haproxyConfig(port: number, replicas: Replica[]): string {
  return `global
  maxconn 2048
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  # predictions and job polls are safe to repeat; a submit carries an Idempotency-Key
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response response-timeout 503
  option http-buffer-request
frontend carafe
  bind 127.0.0.1:${port}
  default_backend replicas
backend replicas
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 250ms fall 1 rise 2
${replicas.map((r) => `  server ${r.name} 127.0.0.1:${r.port} check`).join('\n')}
`
}

function ensureHaproxy(): string {
  const found = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((p) => existsSync(p))
  if (found) return found
  if (process.getuid?.() !== 0) throw new Error('cluster-test: install haproxy (apt-get install haproxy)')
  console.log('cluster-test: installing haproxy from Debian')
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' })
  execFileSync('apt-get', ['install', '-y', '-qq', 'haproxy'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  })
  return '/usr/sbin/haproxy'
}

async function syncClient(url: string, id: number): Promise<void> {
  for (let n = 0; running; n++) {
    inFlight++
    const answer = await call(`${url}/v1/models/cluster:predict`, 'POST', {
      instances: [{ token: `s-${id}-${n}`, ms: 5 }],
    })
    inFlight--
    count(
      sync,
      answer.status === 200 ? '200' : `${answer.status} ${answer.json?.error?.code ?? answer.json}`.slice(0, 60),
    )
  }
}

async function jobSubmitter(url: string): Promise<void> {
  for (let n = 0; running; n++) {
    const token = `j-${n}`
    const answer = await call(`${url}/v1/models/cluster/jobs`, 'POST', { instances: [{ token, ms: 50 }] })
    if (answer.status === 202 || answer.status === 201) accepted.push(answer.json.id)
    count(jobSubmits, answer.status === 202 || answer.status === 201 ? 'accepted' : `${answer.status}`)
    await sleep(1000 / JOBS_PER_SECOND)
  }
}

async function main(): Promise<void> {
  const haproxy = ensureHaproxy()
  const replicas: Replica[] = []
  for (const name of ['r1', 'r2', 'r3'])
    replicas.push({ name, port: await freePort(), poison: join(work, `${name}.poison`) })
  const front = await freePort()
  const url = `http://127.0.0.1:${front}`
  const cfg = join(work, 'haproxy.cfg')
  writeFileSync(cfg, haproxyConfig(front, replicas))
  for (const r of replicas) start(r)
  await Promise.all(replicas.map(ready))
  const proxy = spawn(haproxy, ['-f', cfg, '-db', '-q'], { stdio: ['ignore', 'ignore', 'inherit'] })
  await waitFor('haproxy up', async () => (await call(`${url}/healthz`, 'GET')).status === 200)

  const load = [...Array.from({ length: SYNC_CLIENTS }, (_, i) => syncClient(url, i)), jobSubmitter(url)]
  try {
    await sleep(3000)

    phase = 'rolling restart'
    for (const r of replicas) {
      await stop(r, 'SIGTERM')
      start(r)
      await ready(r)
      await sleep(1000) // rise 2 × inter 250 ms: the balancer takes it back
    }

    phase = 'SIGKILL one replica'
    inFlightAtKill = inFlight
    await stop(replicas[0]!, 'SIGKILL')
    await sleep(3000)
    start(replicas[0]!)
    await ready(replicas[0]!)
    await sleep(1000)

    phase = 'one model crash-looping'
    writeFileSync(replicas[2]!.poison, '')
    await sleep(8000)
    unlinkSync(replicas[2]!.poison)
    await sleep(1000)
  } finally {
    running = false
    await Promise.all(load)
  }

  // Every accepted job must end succeeded, on whichever replica; a restarted one may take it again.
  const final = new Map<string, string>()
  const failures = new Map<string, number>()
  await waitFor(
    'every accepted job finished',
    async () => {
      for (const id of accepted) {
        if (final.has(id)) continue
        const { status, json } = await call(`${url}/v1/jobs/${id}`, 'GET')
        if (status !== 200 || !['succeeded', 'failed', 'canceled'].includes(json.status)) continue
        final.set(id, json.status)
        if (json.status === 'failed') failures.set(json.error?.code, (failures.get(json.error?.code) ?? 0) + 1)
      }
      return final.size === accepted.length
    },
    90_000,
  ).catch((error: Error) => console.log(error.message))
  const runs = new Map<string, number>()
  for (const token of readFileSync(executions, 'utf8').split('\n'))
    if (token.startsWith('j-')) runs.set(token, (runs.get(token) ?? 0) + 1)

  const phases: Phase[] = ['baseline', 'rolling restart', 'SIGKILL one replica', 'one model crash-looping']
  console.log('\n| phase | sync sent | sync failed | failures by status | jobs submitted | submits refused |')
  console.log('| --- | --- | --- | --- | --- | --- |')
  for (const p of phases) {
    const row = sync.get(p) ?? new Map()
    const sent = [...row.values()].reduce((a, b) => a + b, 0)
    const failures = [...row].filter(([k]) => k !== '200')
    const failed = failures.reduce((a, [, n]) => a + n, 0)
    const jobs = jobSubmits.get(p) ?? new Map()
    const refused = [...jobs].filter(([k]) => k !== 'accepted').reduce((a, [, n]) => a + n, 0)
    console.log(
      `| ${p} | ${sent} | ${failed} | ${failures.map(([k, n]) => `${k} ×${n}`).join(', ') || '-'} | ${jobs.get('accepted') ?? 0} | ${refused} |`,
    )
  }
  const byStatus = (s: string) => [...final.values()].filter((v) => v === s).length
  const twice = [...runs.values()].filter((n) => n >= 2).length
  console.log(`\nsync requests in flight at the SIGKILL: ${inFlightAtKill}`)
  console.log('\n| jobs accepted | succeeded | failed | lost | ran to completion twice |')
  console.log('| --- | --- | --- | --- | --- |')
  console.log(
    `| ${accepted.length} | ${byStatus('succeeded')} | ${byStatus('failed')} | ${accepted.length - final.size} | ${twice} |`,
  )

  if (failures.size > 0) console.log(`failed jobs by code: ${[...failures].map(([c, n]) => `${c} ×${n}`).join(', ')}`)
  proxy.kill('SIGTERM')
  await Promise.all(replicas.map((r) => stop(r, 'SIGTERM')))
  agent.destroy()
  rmSync(work, { recursive: true, force: true })
  const failedSync = [...(sync.get('rolling restart') ?? new Map())].filter(([k]) => k !== '200').length
  const bad = failedSync > 0 || accepted.length !== byStatus('succeeded') || twice > 0
  process.exitCode = bad ? 1 : 0
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
  running = false
})
