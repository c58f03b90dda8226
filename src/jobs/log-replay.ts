import { existsSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { readLines } from './log-lines.js'
import { JOB_STATUSES, isFinal, type JobRecord, type JobStatus } from './store.js'

export type LogEntry = JobRecord | { removed: string }

export interface SkippedLine {
  line: number
  reason: string
}

export interface Replayed {
  jobs: Map<string, JobRecord>
  /** Bytes each job takes in a compacted log, for the compaction rule. */
  sizes: Map<string, number>
  /** Lines that were not used (bad JSON, missing fields), by number. */
  skipped: SkippedLine[]
  /** The last line had no newline: a write a crash cut short (never acknowledged). */
  torn: boolean
  /** Bytes read. */
  size: number
  /** Some finished job's line carries its instances (written before final lines left them out): worth a rewrite. */
  stale: boolean
}

/**
 * The bytes a job takes once compacted: its latest line, except that a line of an unfinished job without `instances`
 * (a "running" line) stands for the submit line that carries them.
 */
export function liveBytes(previous: number | undefined, bytes: number, job: JobRecord, hasInstances: boolean): number {
  return isFinal(job.status) || hasInstances ? bytes : Math.max(previous ?? 0, bytes)
}

/** Stream the log: the last line of each id wins; a line without `instances` keeps the ones an earlier line had. */
export async function replayLog(path: string): Promise<Replayed> {
  const jobs = new Map<string, JobRecord>()
  const sizes = new Map<string, number>()
  const skipped: SkippedLine[] = []
  let torn = false
  let stale = false
  if (!existsSync(path)) return { jobs, sizes, skipped, torn, size: 0, stale }
  for await (const lines of readLines(path))
    for (const line of lines) {
      // characters, not bytes: the compaction rule needs an estimate, and JSON lines are mostly ASCII
      const bytes = line.text.length + 1
      if (line.text === '') continue
      if (!line.complete) {
        torn = true
        skipped.push({ line: line.number, reason: 'cut short (no newline at the end): a write interrupted by a crash' })
        continue
      }
      let value: unknown
      try {
        value = JSON.parse(line.text)
      } catch {
        skipped.push({ line: line.number, reason: 'not JSON' })
        continue
      }
      const entry = checkEntry(value)
      if (typeof entry === 'string') {
        skipped.push({ line: line.number, reason: entry })
        continue
      }
      if ('removed' in entry) {
        jobs.delete(entry.removed)
        sizes.delete(entry.removed)
        continue
      }
      const previous = jobs.get(entry.id)
      const hasInstances = Array.isArray(entry.instances)
      if (isFinal(entry.status)) {
        stale ||= hasInstances && entry.instances.length > 0
        entry.instances = [] // a finished job never runs again: no need to hold its input
      } else if (!hasInstances) {
        if (!previous || isFinal(previous.status)) {
          skipped.push({ line: line.number, reason: `job ${entry.id} has no instances (its submit line is missing)` })
          continue
        }
        entry.instances = previous.instances
      }
      jobs.set(entry.id, entry)
      sizes.set(entry.id, liveBytes(sizes.get(entry.id), bytes, entry, hasInstances))
    }
  return { jobs, sizes, skipped, torn, size: (await stat(path)).size, stale }
}

/** The entry, or why the line cannot be used. Only what the store relies on is checked. */
function checkEntry(value: unknown): LogEntry | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object'
  const v = value as Record<string, unknown>
  if ('removed' in v) return typeof v.removed === 'string' ? { removed: v.removed } : '"removed" is not a string'
  if (typeof v.id !== 'string' || v.id === '') return 'missing "id"'
  if (typeof v.model !== 'string') return `job ${v.id}: missing "model"`
  if (!JOB_STATUSES.includes(v.status as JobStatus)) return `job ${v.id}: missing or unknown "status"`
  if (typeof v.createdAt !== 'string' || Number.isNaN(Date.parse(v.createdAt)))
    return `job ${v.id}: missing or bad "createdAt"`
  if (v.instances !== undefined && !Array.isArray(v.instances)) return `job ${v.id}: "instances" is not an array`
  if (v.attempts !== undefined && !Number.isInteger(v.attempts)) return `job ${v.id}: "attempts" is not an integer`
  if (v.finishedAt !== undefined && (typeof v.finishedAt !== 'string' || Number.isNaN(Date.parse(v.finishedAt))))
    return `job ${v.id}: bad "finishedAt"`
  v.attempts ??= 0
  if (typeof v.progress !== 'number') v.progress = 0
  return v as unknown as JobRecord
}
