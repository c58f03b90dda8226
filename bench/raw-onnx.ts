import ort from 'onnxruntime-node'

/** Rows/s of onnxruntime-node alone (no HTTP, no worker hop): the physical limit. */
export async function rawRowsPerSecond(
  path: string,
  batch: number,
  durationMs: number,
  intraOpNumThreads?: number,
): Promise<number> {
  const session = await ort.InferenceSession.create(path, {
    graphOptimizationLevel: 'all',
    ...(intraOpNumThreads ? { intraOpNumThreads } : {}),
  })
  const input = session.inputNames[0]
  const width = widthOf(session)
  const data = Float32Array.from({ length: batch * width }, () => Math.random())
  const feeds = { [input]: new ort.Tensor('float32', data, [batch, width]) }
  for (let i = 0; i < 20; i++) await session.run(feeds) // warm-up
  let rows = 0
  const until = performance.now() + durationMs
  const started = performance.now()
  while (performance.now() < until) {
    await session.run(feeds)
    rows += batch
  }
  const rate = rows / ((performance.now() - started) / 1000)
  await session.release()
  return rate
}

function widthOf(session: ort.InferenceSession): number {
  const meta = (session as unknown as { inputMetadata?: { shape?: (number | string)[] }[] }).inputMetadata?.[0]
  const last = meta?.shape?.at(-1)
  return typeof last === 'number' ? last : 4
}
