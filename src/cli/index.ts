import { Command } from 'commander'
import { VERSION } from '../config/version.js'
import { addModelsCommands } from './models.js'
import { addServeFlags } from './serve-flags.js'
import type { ServeFlags } from './serve.js'

// Each command's module is imported when it runs: the HTTP stack and onnxruntime take ~1.5 s to load, which
// `carafe --version` and the `carafe models` client (a few HTTP calls) have no use for.

const program = new Command('carafe')
  .description('Serve ONNX files and TypeScript predict functions over HTTP')
  .version(VERSION)

addServeFlags(
  program
    .command('serve')
    .description(
      'serve one or more models: an .onnx file, a handler module, a model directory or a repository directory',
    )
    .argument('[paths...]', 'model paths')
    .option('-c, --config <file>', 'carafe.yaml with server settings and a models: map of per-model settings')
    .option('--print-config', 'print the merged configuration (secrets masked) and exit'),
).action(async (paths: string[], flags: ServeFlags) => (await import('./serve.js')).serve(paths, flags))

program
  .command('openapi')
  .description('print the OpenAPI 3.1 document for these models without starting a server')
  .argument('<paths...>', 'model paths')
  .option('-c, --config <file>', 'carafe.yaml with server settings (apiKeys adds the security schemes)')
  .action(async (paths: string[], flags: { config?: string }) => (await import('./openapi.js')).openapi(paths, flags))

program
  .command('client')
  .description(
    "write a TypeScript client with each model's instance and prediction types, from its JSON Schemas, without starting a server",
  )
  .argument('<paths...>', 'model paths')
  .option('-o, --out <file>', 'write the module to this file (default: print it)')
  .action(async (paths: string[], flags: { out?: string }) => (await import('./client.js')).client(paths, flags))

program
  .command('worker')
  .description('run background jobs from a Redis queue with these models, without HTTP')
  .argument('<paths...>', 'model paths')
  .requiredOption('--jobs <url>', 'the Redis the servers submit to: redis://host:6379')
  .option('--concurrency <n>', 'jobs run at once by this worker')
  .action(async (paths: string[], flags: { jobs?: string; concurrency?: string }) =>
    (await import('./worker.js')).worker(paths, flags),
  )

addModelsCommands(program)

await program.parseAsync(process.argv)
