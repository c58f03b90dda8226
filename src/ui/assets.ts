import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface UiAsset {
  body: string
  type: string
}

const TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
}
// the build copies src/ui/assets next to the compiled module (package.json "build")
const DIR = join(dirname(fileURLToPath(import.meta.url)), 'assets')
export const UI_ASSET_NAMES = [
  'playground.js',
  'form.js',
  'image-field.js',
  'overlay.js',
  'result.js',
  'api.js',
  'style.css',
  'favicon.svg',
] as const

/** Read the playground's static files once; they are small and never change while serving. */
export function loadUiAssets(): Map<string, UiAsset> {
  return new Map(
    UI_ASSET_NAMES.map((name) => [
      name,
      { body: readFileSync(join(DIR, name), 'utf8'), type: TYPES[name.split('.').pop()!] },
    ]),
  )
}
