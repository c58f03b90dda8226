/** autocannon with a binary body, in its own process: its CLI reads `-i` files as UTF-8 text, which mangles binary bodies. */

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

// [compat] autocannon ships no types; only this call shape is used.
type Autocannon = (options: Record<string, unknown>) => Promise<unknown>
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

const [url, connections, seconds, file, headers] = process.argv.slice(2)
const result = await autocannon({
  url,
  method: 'POST',
  connections: Number(connections),
  duration: Number(seconds),
  headers: JSON.parse(headers),
  body: readFileSync(file),
})
process.stdout.write(JSON.stringify(result))
