import type { Command } from 'commander'

interface ModelsFlags {
  url: string
  apiKey?: string
  modelVersion?: string
}

/** `carafe models list|load|unload|reload|reset`: the management API of a running server, from the command line. */
export function addModelsCommands(program: Command): void {
  const models = program
    .command('models')
    .description('list, load, unload, reload and reset models of a running server (its /v1/admin API)')
  const common = (command: Command) =>
    command
      .requiredOption('--url <url>', 'the server, e.g. http://127.0.0.1:8080')
      .option('--api-key <key>', 'an API key, when the server has keys (or CARAFE_API_KEY)')
  common(models.command('list').description('models and versions with state and load errors')).action(
    (flags: ModelsFlags) => call(flags, 'GET', '/v1/admin/models'),
  )
  for (const [verb, what] of [
    ['load', 'load a model folder of the repository, or one version of it'],
    ['unload', 'stop serving a model or one version (it drains first)'],
  ] as const) {
    common(models.command(verb).description(what).argument('<name>', 'model name'))
      .option('--model-version <v>', 'one version (--version is the CLI version)')
      .action((name: string, flags: ModelsFlags) =>
        call(
          flags,
          'POST',
          `/v1/admin/models/${encodeURIComponent(name)}/${verb}`,
          flags.modelVersion ? { version: flags.modelVersion } : undefined,
        ),
      )
  }
  common(
    models
      .command('reload')
      .description('reload a model from its folder (or, without a name, rescan the whole repository)')
      .argument('[name]', 'model name'),
  ).action((name: string | undefined, flags: ModelsFlags) =>
    call(flags, 'POST', name ? `/v1/admin/models/${encodeURIComponent(name)}/reload` : '/v1/admin/reload'),
  )
  common(
    models
      .command('reset')
      .description('forget the changes made through the API to a model (they are otherwise kept across restarts)')
      .argument('<name>', 'model name'),
  ).action((name: string, flags: ModelsFlags) =>
    call(flags, 'POST', `/v1/admin/models/${encodeURIComponent(name)}/reset`),
  )
}

/** One request; the answer printed as JSON; exit 1 with the server's error code and message on a refusal. */
async function call(flags: ModelsFlags, method: string, path: string, body?: unknown): Promise<void> {
  const key = flags.apiKey ?? process.env.CARAFE_API_KEY
  let response: Response
  try {
    response = await fetch(new URL(path, flags.url), {
      method,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    })
  } catch (error) {
    process.stderr.write(`carafe: cannot reach ${flags.url} (${(error as Error).message})\n`)
    process.exit(2)
  }
  const text = await response.text()
  if (!response.ok) {
    let problem = text
    try {
      const { error } = JSON.parse(text) as { error: { code: string; message: string } }
      problem = `${error.code}: ${error.message}`
    } catch {}
    process.stderr.write(`carafe: ${response.status} ${problem}\n`)
    process.exit(1)
  }
  process.stdout.write(`${JSON.stringify(JSON.parse(text), null, 2)}\n`)
}
