// Real inputs nest a few levels (a V2 image tensor in a body is ~7); recursive code (JSON.stringify, Array.flat,
// Ajv) overflows the stack somewhere past a few thousand, so the limit sits far from both.
export const MAX_JSON_DEPTH = 64

/**
 * True when arrays and objects nest deeper than `max` levels (the value itself is level 1). Iterative, so it never
 * overflows the stack itself, and it stops at the first container past the limit.
 */
export function nestsDeeperThan(value: unknown, max: number = MAX_JSON_DEPTH): boolean {
  if (value === null || typeof value !== 'object') return false
  const values: object[] = [value]
  const depths: number[] = [1]
  while (values.length > 0) {
    const current = values.pop()!
    const depth = depths.pop()!
    if (depth > max) return true
    const children = Array.isArray(current) ? current : Object.values(current)
    for (let i = 0; i < children.length; i++) {
      const child = children[i]
      if (child !== null && typeof child === 'object') {
        values.push(child)
        depths.push(depth + 1)
      }
    }
  }
  return false
}
