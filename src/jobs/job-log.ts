import { mkdirSync } from 'node:fs'
import { open, rename, rm, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { liveBytes, type LogEntry } from './log-replay.js'
import { isFinal, type JobRecord } from './store.js'

export interface JobLogOptions {
  dir: string
  /** The job as it is now, for compaction (undefined once it is gone). */
  current: (id: string) => JobRecord | undefined
  /** Compact once the file is larger than factor × live data + slack. */
  compactFactor?: number
  compactSlackBytes?: number
  onError?: (error: Error, message: string) => void
}

export const COMPACT_FACTOR = 2
export const COMPACT_SLACK_BYTES = 1 << 20 // a small log is never worth rewriting
const CHUNK_BYTES = 1 << 20 // lines are written in chunks this big; each await lets the event loop run

interface Pending {
  line: string
  entry: LogEntry
  withInstances: boolean
  resolve: () => void
  reject: (error: Error) => void
}

/**
 * An append-only JSONL file of job snapshots; the last line for an id wins, and only the first line of a job (and a
 * compacted unfinished job) carries its `instances`. Writes that arrive while one fsync is under way are grouped
 * into the next one (group commit). After a failed write the file is cut back to its last whole line, so a partial
 * line never glues onto the next one and a write the caller saw fail is not replayed. When the file grows past
 * factor × the live data it is rewritten while the server runs (see `#compact`).
 */
export class JobLog {
  readonly path: string
  readonly #dir: string
  readonly #current: (id: string) => JobRecord | undefined
  readonly #factor: number
  readonly #slack: number
  readonly #onError: (error: Error, message: string) => void
  #file: FileHandle | undefined
  /** Bytes of whole, synced lines: what a failed write is cut back to. */
  #size = 0
  /** A failed write could not be cut back yet: do it before the next one. */
  #dirty = false
  #pending: Pending[] = []
  /** The entries of #pending, for `waiting()` in O(1) (a burst of submits asks once per job). */
  readonly #pendingEntries = new Set<LogEntry>()
  #flushQueued = false
  #inFlight = 0
  /** Every file operation runs in this chain, one at a time, so a compaction can switch files between two flushes. */
  #chain: Promise<unknown> = Promise.resolve()
  /** Compacted bytes per job id, and their sum. */
  readonly #live = new Map<string, number>()
  #liveTotal = 0
  #compaction: Promise<void> | undefined
  /** Ids written since the running compaction started: their size comes from those writes, not the snapshot. */
  #touched: Set<string> | undefined
  /** Don't compact again below this size (set when a compaction did not shrink the file as expected). */
  #floor = 0
  #closing = false
  compactions = 0

  constructor(options: JobLogOptions) {
    mkdirSync(options.dir, { recursive: true })
    this.#dir = options.dir
    this.path = join(options.dir, 'jobs.jsonl')
    this.#current = options.current
    this.#factor = options.compactFactor ?? COMPACT_FACTOR
    this.#slack = options.compactSlackBytes ?? COMPACT_SLACK_BYTES
    this.#onError = options.onError ?? (() => undefined)
  }

  /** Start appending, first rewriting the file when asked (it had bad lines) or when it is past the compaction bound. */
  async open(sizes: Map<string, number>, rewrite: boolean): Promise<void> {
    for (const [id, bytes] of sizes) this.#setLive(id, bytes)
    await rm(this.#tmpPath, { force: true }) // a compaction cut short by a crash; the log itself is whole
    this.#file = await open(this.path, 'a')
    this.#size = (await this.#file.stat()).size
    if (rewrite || this.#shouldCompact()) await this.#compact()
  }

  /** Bytes in the file, the live data a compaction would keep, and whether writes or a compaction are under way. */
  get stats(): { size: number; live: number; compactions: number; busy: boolean } {
    const busy = this.#inFlight > 0 || this.#compaction !== undefined
    return { size: this.#size, live: this.#liveTotal, compactions: this.compactions, busy }
  }

  /**
   * Resolves once the entry is on disk. Throws at once when the entry cannot be serialized, so the caller never
   * holds a job that was never written. `withInstances` for a submit line; later lines leave the input out.
   */
  write(entry: LogEntry, withInstances = false): Promise<void> {
    const line = serialize(entry, withInstances)
    if (this.#closing && this.#file === undefined) return Promise.reject(new Error(`${this.path} is closed`))
    this.#inFlight++
    const done = new Promise<void>((resolve, reject) =>
      this.#pending.push({ line, entry, withInstances, resolve, reject }),
    ).finally(() => this.#inFlight--)
    this.#pendingEntries.add(entry)
    this.#scheduleFlush()
    return done
  }

  /**
   * Whether a line of this entry waits for the next flush: a line written now lands in the same write and fdatasync,
   * after it, so it is on disk exactly when that one is.
   */
  waiting(entry: LogEntry): boolean {
    return this.#pendingEntries.has(entry)
  }

  async close(): Promise<void> {
    this.#closing = true
    await this.#compaction
    await this.#serial(async () => {
      await this.#file?.close()
      this.#file = undefined
    })
  }

  get #tmpPath() {
    return `${this.path}.compacting`
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn)
    this.#chain = run.catch(() => undefined)
    return run
  }

  #scheduleFlush(): void {
    if (this.#flushQueued) return
    this.#flushQueued = true
    void this.#serial(() => this.#flush())
  }

  async #flush(): Promise<void> {
    this.#flushQueued = false
    const batch = this.#pending
    this.#pending = []
    this.#pendingEntries.clear()
    if (batch.length === 0) return
    try {
      if (!this.#file) throw new Error(`${this.path} is closed`)
      if (this.#dirty) await this.#cutBack()
      const written = await writeLines(
        this.#file,
        batch.map((p) => p.line),
      )
      await this.#file.datasync()
      this.#size += written
    } catch (error) {
      await this.#cutBack().catch((cutError: Error) =>
        this.#onError(cutError, `${this.path}: cannot cut the log back after a failed write; retrying on the next one`),
      )
      for (const p of batch) p.reject(error as Error)
      return
    }
    for (const p of batch) {
      this.#account(p.entry, p.line.length, p.withInstances)
      p.resolve()
    }
    if (this.#shouldCompact()) this.#startCompaction()
  }

  #startCompaction(): void {
    this.#compaction = this.#compact()
      .catch((error: Error) => {
        this.#floor = this.#size + this.#slack // retry once the log has grown again, not on every write
        this.#onError(error, `${this.path}: compaction failed; the log stays as it was`)
      })
      .finally(() => {
        this.#compaction = undefined
        // writes while it ran (their lines copied over, or a job finishing just after the switch) may have left the
        // file past the bound, and a write does not start a compaction while one runs: check once more now
        if (this.#shouldCompact()) this.#startCompaction()
      })
  }

  async #cutBack(): Promise<void> {
    this.#dirty = true
    await this.#file!.truncate(this.#size)
    await this.#file!.datasync()
    this.#dirty = false
  }

  #account(entry: LogEntry, bytes: number, withInstances: boolean): void {
    if ('removed' in entry) {
      this.#setLive(entry.removed, undefined)
      this.#touched?.add(entry.removed)
      return
    }
    this.#setLive(entry.id, liveBytes(this.#live.get(entry.id), bytes, entry, withInstances))
    this.#touched?.add(entry.id)
  }

  #setLive(id: string, bytes: number | undefined): void {
    this.#liveTotal -= this.#live.get(id) ?? 0
    if (bytes === undefined) this.#live.delete(id)
    else {
      this.#live.set(id, bytes)
      this.#liveTotal += bytes
    }
  }

  #shouldCompact(): boolean {
    return (
      this.#compaction === undefined &&
      !this.#closing &&
      this.#size > this.#factor * this.#liveTotal + this.#slack &&
      this.#size > this.#floor
    )
  }

  /**
   * Rewrite the log as one line per live job, while appends go on: (1) note the file's size S and the ids whose
   * lines are on disk before S; (2) write each such job as it is now to a temp file, one chunk per await; (3) copy
   * what was appended after S; (4) between two flushes, copy the rest, fsync, rename over the log, fsync the directory
   * and append to the new file. A job written in (2) in a newer state than its line at S is fine: the lines copied in
   * (3) and (4) come after it and the last line wins. Jobs whose submit write is still pending are left to (3).
   */
  async #compact(): Promise<void> {
    const { start, ids } = await this.#serial(async () => {
      this.#touched = new Set()
      return { start: this.#size, ids: [...this.#live.keys()] }
    })
    const tmp = await open(this.#tmpPath, 'w')
    let reader: FileHandle | undefined
    try {
      const sizes = new Map<string, number>()
      let chunk: string[] = []
      let chunkBytes = 0
      let tmpSize = 0
      for (const id of ids) {
        if (this.#closing) return
        const job = this.#current(id)
        if (!job) continue
        const line = serialize(job, !isFinal(job.status))
        const bytes = line.length // characters, as the live estimate counts them
        sizes.set(id, bytes)
        chunk.push(line)
        chunkBytes += bytes
        if (chunkBytes >= CHUNK_BYTES) {
          tmpSize += await writeLines(tmp, chunk)
          chunk = []
          chunkBytes = 0
        }
      }
      tmpSize += await writeLines(tmp, chunk)
      reader = await open(this.path, 'r')
      let copied = start
      while (this.#size - copied > CHUNK_BYTES && !this.#closing) {
        const end = this.#size
        tmpSize += await copyRange(reader, tmp, copied, end)
        copied = end
      }
      await tmp.datasync() // the bulk; the final step below syncs only the last few lines
      const from = reader
      await this.#serial(async () => {
        tmpSize += await copyRange(from, tmp, copied, this.#size)
        await tmp.datasync()
        // opened before the rename, so once the new file has the log's name, appends can only go to it
        const next = await open(this.#tmpPath, 'a')
        try {
          await rename(this.#tmpPath, this.path)
        } catch (error) {
          await next.close()
          throw error
        }
        const old = this.#file
        this.#file = next
        this.#size = tmpSize
        this.#dirty = false
        for (const [id, bytes] of sizes) if (!this.#touched!.has(id) && this.#live.has(id)) this.#setLive(id, bytes)
        // Still past the bound with nothing appended during this pass: the live estimate is off, so wait until the
        // file has doubled rather than rewrite it again at once (appended lines explain it otherwise: a pass follows).
        const over = this.#size > this.#factor * this.#liveTotal + this.#slack
        this.#floor = over && this.#touched!.size === 0 ? this.#factor * this.#size : 0
        this.compactions++
        await old?.close()
        await syncDir(this.#dir) // a rename is durable only once its directory is
      })
    } finally {
      this.#touched = undefined
      await reader?.close()
      await tmp.close()
      await rm(this.#tmpPath, { force: true })
    }
  }
}

/** A job's line: `instances` only when asked (a submit line, or a compacted unfinished job). */
function serialize(entry: LogEntry, withInstances: boolean): string {
  if ('removed' in entry || withInstances) return `${JSON.stringify(entry)}\n`
  const { instances: _, ...rest } = entry
  return `${JSON.stringify(rest)}\n`
}

/** Write every line in full (a write may be short), in chunks; the bytes written. */
async function writeLines(file: FileHandle, lines: string[]): Promise<number> {
  let total = 0
  let group: string[] = []
  let groupBytes = 0
  const put = async () => {
    if (group.length === 0) return
    const buffer = Buffer.from(group.join(''))
    for (let off = 0; off < buffer.length; ) off += (await file.write(buffer, off, buffer.length - off)).bytesWritten
    total += buffer.length
    group = []
    groupBytes = 0
  }
  for (const line of lines) {
    if (groupBytes + line.length > CHUNK_BYTES) await put()
    group.push(line)
    groupBytes += line.length
  }
  await put()
  return total
}

async function copyRange(from: FileHandle, to: FileHandle, start: number, end: number): Promise<number> {
  const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, Math.max(end - start, 1)))
  let position = start
  while (position < end) {
    const { bytesRead } = await from.read(buffer, 0, Math.min(buffer.length, end - position), position)
    if (bytesRead === 0) throw new Error(`the log ended at ${position}, before ${end}`)
    for (let off = 0; off < bytesRead; ) off += (await to.write(buffer, off, bytesRead - off)).bytesWritten
    position += bytesRead
  }
  return end - start
}

/** A rename is durable only once its directory is synced. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
