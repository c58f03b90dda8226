// YAML (and JSON) readers make these own keys; copied onto another object, `__proto__` replaces its prototype, so
// settings hidden under it apply without showing in --print-config.
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype'])
// a config or carafe.yaml is a few levels deep; deeper than this is not a config
const MAX_DEPTH = 32

/** The dotted path of the first `__proto__`, `constructor` or `prototype` key at any depth, or undefined. */
export function unsafeKeyPath(value: unknown, path = '', depth = 0): string | undefined {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return undefined
  for (const key of Object.keys(value)) {
    const here = path ? `${path}.${key}` : key
    if (UNSAFE_KEYS.has(key)) return here
    const inner = unsafeKeyPath((value as Record<string, unknown>)[key], here, depth + 1)
    if (inner !== undefined) return inner
  }
  return undefined
}

export function unsafeKeyMessage(path: string): string {
  return `${path} is not allowed as a key (__proto__, constructor and prototype are refused in every config file)`
}
