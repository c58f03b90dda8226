import { Command } from 'commander'
import { VERSION } from '../config/index.js'
import { serve } from './serve.js'
import { client } from './client.js'
import { addModelsCommands } from './models.js'
import { openapi } from './openapi.js'
import { addServeFlags } from './serve-flags.js'
import { worker } from './worker.js'

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
).action(serve)

program
  .command('openapi')
  .description('print the OpenAPI 3.1 document for these models without starting a server')
  .argument('<paths...>', 'model paths')
  .option('-c, --config <file>', 'carafe.yaml with server settings (apiKeys adds the security schemes)')
  .action(openapi)

program
  .command('client')
  .description(
    "write a TypeScript client with each model's instance and prediction types, from its JSON Schemas, without starting a server",
  )
  .argument('<paths...>', 'model paths')
  .option('-o, --out <file>', 'write the module to this file (default: print it)')
  .action(client)

program
  .command('worker')
  .description('run background jobs from a Redis queue with these models, without HTTP')
  .argument('<paths...>', 'model paths')
  .requiredOption('--jobs <url>', 'the Redis the servers submit to: redis://host:6379')
  .option('--concurrency <n>', 'jobs run at once by this worker')
  .action(worker)

addModelsCommands(program)

await program.parseAsync(process.argv)
