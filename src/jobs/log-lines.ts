import { createReadStream } from 'node:fs'

export interface LogLine {
  /** 1-based, as an editor shows it. */
  number: number
  text: string
  /** False only for a last line with no newline after it: a write cut short by a crash. */
  complete: boolean
}

/**
 * The lines of a file, streamed in batches (one per chunk read): the job log can be far larger than one string may be
 * (~512 MB of text), so it is never read whole. Chunks are cut at their last newline before decoding, so a UTF-8
 * sequence is never split.
 */
export async function* readLines(path: string): AsyncGenerator<LogLine[]> {
  let rest: Buffer[] = []
  let number = 0
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    const last = chunk.lastIndexOf(10)
    if (last === -1) {
      rest.push(chunk)
      continue
    }
    const whole = rest.length === 0 ? chunk.subarray(0, last) : Buffer.concat([...rest, chunk.subarray(0, last)])
    rest = last + 1 < chunk.length ? [chunk.subarray(last + 1)] : []
    yield whole
      .toString('utf8')
      .split('\n')
      .map((text) => ({ number: ++number, text, complete: true }))
  }
  if (rest.length > 0) yield [{ number: number + 1, text: Buffer.concat(rest).toString('utf8'), complete: false }]
}
