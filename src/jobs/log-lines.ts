import { createReadStream } from 'node:fs'

export interface LogLine {
  /** 1-based, as an editor shows it. */
  number: number
  text: string
  /** False only for a last line with no newline after it: a write cut short by a crash. */
  complete: boolean
  /** Byte offset just past this line (and its newline). */
  end: number
}

/**
 * The lines of a file, streamed: the job log can be far larger than one string may be (~512 MB of text), so it is
 * never read whole. Splitting bytes, not text, keeps byte offsets exact.
 */
export async function* readLines(path: string): AsyncGenerator<LogLine> {
  let parts: Buffer[] = []
  let number = 0
  let offset = 0
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let start = 0
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      parts.push(chunk.subarray(start, nl))
      const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts)
      offset += bytes.length + 1
      number++
      yield { number, text: bytes.toString('utf8'), complete: true, end: offset }
      parts = []
      start = nl + 1
    }
    if (start < chunk.length) parts.push(chunk.subarray(start))
  }
  if (parts.length > 0) {
    const bytes = Buffer.concat(parts)
    yield { number: number + 1, text: bytes.toString('utf8'), complete: false, end: offset + bytes.length }
  }
}
