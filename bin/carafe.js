#!/usr/bin/env node
import { existsSync } from 'node:fs'

const cli = new URL('../dist/src/cli/index.js', import.meta.url)
if (!existsSync(cli)) {
  // Only a clone can get here (a package always ships dist/): say what to run instead of a module-not-found trace
  console.error('carafe: dist/ is not built; run "npm run build" in this folder')
  process.exit(1)
}
await import(cli.href)
