// The playground's static files are not TypeScript, so tsc leaves them behind: copy them next to the compiled ui/ module.
// With --clean, empty dist/src/ first, so a package never ships a module whose source was deleted.
import { cpSync, rmSync } from 'node:fs'

if (process.argv.includes('--clean')) rmSync('dist/src', { recursive: true, force: true })
else cpSync('src/ui/assets', 'dist/src/ui/assets', { recursive: true })
