import { pathToFileURL } from 'node:url'
import { tsImport } from 'tsx/esm/api'

const TYPESCRIPT = /\.(c|m)?tsx?$/

/** Import a user module by absolute path; TypeScript goes through tsx so users need no build step. */
export async function importModule(path: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(path).href
  return TYPESCRIPT.test(path) ? tsImport(url, import.meta.url) : import(url)
}
