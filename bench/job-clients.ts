// The job bench's clients, in their own process so they never share the server's event loop (as bench/load.ts runs
// autocannon). Each of `clients` loops: submit one iris job → poll every `pollMs` until it ends → next.
// Usage: node dist/bench/job-clients.js <url> <jobs> <clients> <pollMs>; prints one JSON line.
import { Agent, request } from 'node:http'
import { fileURLToPath } from 'node:url'

export interface JobClientsResult {
  jobs: number
  'jobs/s': number
  'p50 ms': number
  'p99 ms': number
}

const agent = new Agent({ keepAlive: true, maxSockets: 256 })

function call(url: string, method: string, body?: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent,
        headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {},
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk) => (text += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

export async function runJobClients(
  url: string,
  jobs: number,
  clients: number,
  pollMs: number,
): Promise<JobClientsResult> {
  const times: number[] = []
  const body = JSON.stringify({ instances: [[5.1, 3.5, 1.4, 0.2]] })
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < jobs) {
        next++
        const t0 = performance.now()
        const submit = await call(`${url}/v1/models/iris/jobs`, 'POST', body)
        if (submit.status !== 202) throw new Error(`submit answered ${submit.status}: ${JSON.stringify(submit.json)}`)
        for (;;) {
          const { json: job } = await call(`${url}/v1/jobs/${submit.json.id}`, 'GET')
          if (job.status === 'succeeded') break
          if (job.status !== 'queued' && job.status !== 'running')
            throw new Error(`job ${submit.json.id} ended ${job.status}`)
          await new Promise((resolve) => setTimeout(resolve, pollMs))
        }
        times.push(performance.now() - t0)
      }
    }),
  )
  const seconds = (performance.now() - started) / 1000
  times.sort((a, b) => a - b)
  const pct = (p: number) => Math.round(times[Math.min(times.length - 1, Math.floor(p * times.length))]! * 10) / 10
  agent.destroy()
  return { jobs: times.length, 'jobs/s': Math.round(times.length / seconds), 'p50 ms': pct(0.5), 'p99 ms': pct(0.99) }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [url, jobs, clients, pollMs] = process.argv.slice(2)
  console.log(JSON.stringify(await runJobClients(url!, Number(jobs), Number(clients), Number(pollMs))))
}
