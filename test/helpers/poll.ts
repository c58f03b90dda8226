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
