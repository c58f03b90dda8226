import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { runCli } from '../helpers/cli.js'
import { example, ROOT } from '../helpers/paths.js'
import { get, startServer } from '../helpers/server.js'

// package.json is the one place the version is written: the CLI, OpenAPI and KServe V2 metadata all read it.
test('carafe --version, /openapi.json info.version and GET /v2 say the version in package.json', async (t) => {
  const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'))
  const cli = await runCli(['--version'])
  assert.equal(cli.code, 0)
  assert.equal(cli.stdout.trim(), version)
  const server = await startServer(example('iris'), { t })
  assert.equal((await get(`${server.url}/openapi.json`)).body.info.version, version)
  assert.equal((await get(`${server.url}/v2`)).body.version, version)
})
