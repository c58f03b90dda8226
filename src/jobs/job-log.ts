import { closeSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, existsSync, fsyncSync } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import type { JobRecord } from './store.js'

/**
 * An append-only JSONL file of job snapshots; the last line for an id wins. Writes that arrive while
 * one fsync is under way are grouped into the next one (group commit), so durability costs one
 * fsync per batch of writes, not per job.
 */
export class JobLog {
  readonly path: string
  #file: FileHandle | undefined
  #pending: string[] = []
  #waiters: { resolve: () => void; reject: (error: Error) => void }[] = []
  #flushing: Promise<void> | undefined

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true })
    this.path = join(dir, 'jobs.jsonl')
  }

  /** Read every job from the log (the last snapshot of each), tolerating a torn last line from a crash. */
  replay(): Map<string, JobRecord> {
    const jobs = new Map<string, JobRecord>()
    if (!existsSync(this.path)) return jobs
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      if (!line) continue
      try {
        const entry = JSON.parse(line) as JobRecord | { removed: string }
        if ('removed' in entry) jobs.delete(entry.removed)
        else jobs.set(entry.id, entry)
      } catch {
        // a line cut short by kill -9 was never acknowledged: dropping it loses nothing promised
      }
    }
    return jobs
  }

  /** Rewrite the log with only these jobs (at open), atomically, then append from there. */
  async compact(jobs: Iterable<JobRecord>): Promise<void> {
    const tmp = `${this.path}.tmp`
    writeFileSync(tmp, [...jobs].map((job) => JSON.stringify(job) + '\n').join(''))
    const fd = openSync(tmp, 'r+')
    fsyncSync(fd)
    closeSync(fd)
    renameSync(tmp, this.path)
    this.#file = await open(this.path, 'a')
  }

  /** Resolves once the snapshot is on disk. */
  write(entry: JobRecord | { removed: string }): Promise<void> {
    this.#pending.push(JSON.stringify(entry) + '\n')
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }))
    this.#flushing ??= this.#flushLoop()
    return done
  }

  async #flushLoop(): Promise<void> {
    while (this.#pending.length > 0) {
      const lines = this.#pending.join('')
      const waiters = this.#waiters
      this.#pending = []
      this.#waiters = []
      try {
        await this.#file!.write(lines)
        await this.#file!.datasync()
        for (const w of waiters) w.resolve()
      } catch (error) {
        for (const w of waiters) w.reject(error as Error)
      }
    }
    this.#flushing = undefined
  }

  async close(): Promise<void> {
    await this.#flushing
    await this.#file?.close()
    this.#file = undefined
  }
}
