import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { describe, it } from 'node:test'
import { parse } from 'yaml'
import { CLI, example } from '../helpers/paths.js'

/** Run the CLI to completion (bounded at 20 s) and collect its status and output. */
function carafe(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

const dir = mkdtempSync(join(tmpdir(), 'carafe-config-'))
const modelDirSync = (files: Record<string, string | Buffer>) => {
  const root = mkdtempSync(join(dir, 'model-'))
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true })
    writeFileSync(join(root, name), content)
  }
  return root
}
const file = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

describe('carafe serve --print-config', () => {
  it('prints the merge of file < env < flags with secrets masked, and exits 0', async () => {
    const config = file(
      'ok.yaml',
      'port: 1111\nhost: 0.0.0.0\nlogLevel: warn\napiKeys: [file-key-000000000001]\nmodels:\n  iris:\n    maxQueue: 3\n',
    )
    const { code, stdout, stderr } = await carafe(['serve', '--config', config, '--port', '3333', '--print-config'], {
      CARAFE_PORT: '2222',
      CARAFE_HOST: '10.1.1.1',
    })
    assert.equal(code, 0, stderr)
    const printed = parse(stdout)
    assert.equal(printed.port, 3333)
    assert.equal(printed.host, '10.1.1.1')
    assert.equal(printed.logLevel, 'warn')
    assert.deepEqual(printed.apiKeys, ['****0001'])
    assert.deepEqual(printed.models, { iris: { maxQueue: 3 } })
    assert.ok(!stdout.includes('file-key-000000000001'))
  })
})

describe('carafe serve flags and CARAFE_* variables for the repository and the admin state', () => {
  it('--repository-poll-ms, --memory-budget-mb and --admin-state-file set their keys, over the environment', async () => {
    const flags = await carafe(
      [
        'serve',
        '--repository-poll-ms',
        '0',
        '--memory-budget-mb',
        '2048',
        '--admin-state-file',
        '/var/lib/carafe/state.json',
        '--print-config',
      ],
      { CARAFE_REPOSITORY_POLL_MS: '500', CARAFE_MEMORY_BUDGET_MB: '64' },
    )
    assert.equal(flags.code, 0, flags.stderr)
    const printed = parse(flags.stdout)
    assert.equal(printed.repositoryPollMs, 0)
    assert.equal(printed.memoryBudgetMb, 2048)
    assert.equal(printed.adminStateFile, '/var/lib/carafe/state.json')
    const env = await carafe(['serve', '--print-config'], {
      CARAFE_REPOSITORY_POLL_MS: '500',
      CARAFE_MEMORY_BUDGET_MB: '64',
      CARAFE_ADMIN_STATE_FILE: 'false',
    })
    assert.equal(env.code, 0, env.stderr)
    assert.deepEqual(
      (({ repositoryPollMs, memoryBudgetMb, adminStateFile }) => ({
        repositoryPollMs,
        memoryBudgetMb,
        adminStateFile,
      }))(parse(env.stdout)),
      { repositoryPollMs: 500, memoryBudgetMb: 64, adminStateFile: false },
    )
    const off = await carafe(['serve', '--admin-state-file', 'false', '--print-config'])
    assert.equal(parse(off.stdout).adminStateFile, false)
  })
})

describe('bad configuration exits 2 with one line naming the key, the value and what is allowed', () => {
  const cases: [string, () => { args: string[]; env?: Record<string, string>; dir?: string }, RegExp][] = [
    [
      'unknown key',
      () => ({ args: ['--config', file('unknown.yaml', 'prot: 8080\n')] }),
      /prot is not a known key.*"prot" = 8080|prot is not a known key.*allowed keys: host, port/,
    ],
    [
      'wrong type',
      () => ({ args: ['--config', file('type.yaml', 'port: "eighty"\n')] }),
      /port must be integer \(from config file = "eighty"\); allowed: an integer from 0 to 65535/,
    ],
    [
      'out of range (env)',
      () => ({ args: [], env: { CARAFE_PORT: '70000' } }),
      /port must be <= 65535 \(from CARAFE_PORT="70000"\); allowed: an integer from 0 to 65535/,
    ],
    [
      'out of range (flag)',
      () => ({ args: ['--timeout-ms', '0'] }),
      /timeoutMs must be >= 1 \(from flag --timeoutMs = 0\)/,
    ],
    [
      'negative poll interval (flag)',
      () => ({ args: ['--repository-poll-ms', '-1'] }),
      /repositoryPollMs must be >= 0 \(from flag --repositoryPollMs = -1\)/,
    ],
    [
      'bad enum',
      () => ({ args: ['--log-level', 'loud'] }),
      /logLevel is not one of the allowed values \(from flag --logLevel = "loud"\); allowed: "fatal", "error", "warn", "info", "debug", "trace", "silent"/,
    ],
    [
      'unreadable file',
      () => ({ args: ['--config', join(dir, 'missing.yaml')] }),
      /cannot read .*missing\.yaml \(ENOENT/,
    ],
    [
      'bad YAML',
      () => ({ args: ['--config', file('bad.yaml', 'port: [1, 2\nhost: x\n')] }),
      /cannot read .*bad\.yaml \(/,
    ],
    [
      'models entry for no served model',
      () => ({ args: ['--config', file('models.yaml', 'models:\n  nosuch:\n    maxQueue: 2\n')] }),
      /models\.nosuch names no served model; served: iris/,
    ],
    [
      '__proto__ key (settings hidden under it would apply unseen)',
      () => ({ args: ['--config', file('proto.yaml', '__proto__:\n  apiKeys: [hidden-key-0123456789]\nport: 0\n')] }),
      /config: __proto__ is not allowed as a key/,
    ],
    [
      'constructor key, nested',
      () => ({ args: ['--config', file('ctor.yaml', 'models:\n  iris:\n    constructor: { maxQueue: 2 }\n')] }),
      /config: models\.iris\.constructor is not allowed as a key/,
    ],
    [
      'prototype key in the models map',
      () => ({ args: ['--config', file('prototype.yaml', 'models:\n  prototype:\n    maxQueue: 2\n')] }),
      /config: models\.prototype is not allowed as a key/,
    ],
    [
      "__proto__ key in a model directory's carafe.yaml",
      () => ({
        args: [],
        dir: modelDirSync({
          'carafe.yaml': 'name: protomodel\n__proto__:\n  batch: { maxSize: 4, maxDelayMs: 1 }\n',
          '1/model.onnx': readFileSync(join(example('iris'), '1', 'model.onnx')),
        }),
      }),
      /carafe\.yaml.*__proto__ is not allowed as a key/,
    ],
  ]
  for (const [kind, make, message] of cases) {
    it(kind, async () => {
      const { args, env, dir: served = example('iris') } = make()
      const { code, stderr, stdout } = await carafe(['serve', served, ...args], env)
      assert.equal(code, 2, `status for ${kind}; stderr: ${stderr}`)
      assert.match(stderr, message)
      assert.equal(stderr.trim().split('\n').length, 1, stderr)
      assert.equal(stdout, '')
    })
  }
})
