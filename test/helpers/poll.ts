import { get } from './server.js'

/** GET `url` every 10 ms until `done(body)`; bounded at 2,000 tries. */
export async function waitFor(url: string, done: (body: any) => boolean): Promise<any> {
  for (let i = 0; i < 2000; i++) {
    const { body } = await get(url)
    if (done(body)) return body
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`gave up polling ${url}`)
}

/** Poll until the model reports `state` (bounded: the test fails rather than hangs). */
export async function waitForState(url: string, name: string, state: string, limitMs = 20_000): Promise<any> {
  const until = Date.now() + limitMs
  for (;;) {
    const { body } = await get(`${url}/v1/models/${name}`)
    if (body.state === state) return body
    if (Date.now() > until) throw new Error(`${name} never reached state ${state} (last: ${body.state})`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
