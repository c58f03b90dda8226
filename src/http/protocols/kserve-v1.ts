import { CarafeError } from '../../errors.js'

/** KServe V1 / TF Serving row format: {"instances": [...]} → {"predictions": [...]}. */
export function decodeV1(body: unknown, maxInstances: number): unknown[] {
  const instances = (body as { instances?: unknown }).instances
  if (!Array.isArray(instances))
    throw new CarafeError('INVALID_INPUT', 'The body must be {"instances": [...]}', [
      { path: '/body/instances', message: 'must be an array' },
    ])
  if (instances.length > maxInstances) {
    throw new CarafeError(
      'TOO_MANY_INSTANCES',
      `The request carries ${instances.length} instances; the limit is ${maxInstances}`,
      [{ path: '/body/instances', limit: maxInstances }],
    )
  }
  return instances
}

export function encodeV1(outputs: unknown[]): { predictions: unknown[] } {
  return { predictions: outputs }
}
