import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** Locks held by this process: a lock file naming our own PID that is not here was left by an earlier process. */
const held = new Set<string>()

/**
 * One server per job directory: two processes appending to one log would interleave lines and run every job twice.
 * The lock file holds the owner's PID; a lock whose PID is no longer alive (a crash, kill -9) is taken over.
 */
export class DirLock {
  readonly path: string

  private constructor(path: string) {
    this.path = path
  }

  static async acquire(dir: string): Promise<DirLock> {
    const path = join(dir, 'jobs.lock')
    await mkdir(dir, { recursive: true })
    for (let attempt = 0; attempt < 5; attempt++) {
      // link() creates the lock with its content in one step: nobody ever reads an empty lock file
      const mine = `${path}.${process.pid}`
      await writeFile(mine, `${process.pid}\n`)
      try {
        await link(mine, path)
        held.add(path)
        return new DirLock(path)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      } finally {
        await rm(mine, { force: true })
      }
      const owner = await readOwner(path)
      if (owner === process.pid && held.has(path)) throw inUse(dir, owner, path)
      if (owner !== undefined && isAlive(owner)) throw inUse(dir, owner, path)
      // stale: move it aside first, so two processes taking it over at once cannot both win
      const aside = `${path}.stale-${process.pid}`
      try {
        await rename(path, aside)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue
        throw error
      }
      const moved = await readOwner(aside)
      if (moved !== owner && moved !== undefined && isAlive(moved)) {
        await rename(aside, path) // a live lock taken between our two reads: give it back
        throw inUse(dir, moved, path)
      }
      await rm(aside, { force: true })
    }
    throw new Error(`jobs: cannot take the lock ${path}; another process keeps replacing it`)
  }

  async release(): Promise<void> {
    if (!held.delete(this.path)) return
    if ((await readOwner(this.path)) === process.pid) await rm(this.path, { force: true })
  }
}

async function readOwner(path: string): Promise<number | undefined> {
  const text = await readFile(path, 'utf8').catch(() => '')
  const pid = Number.parseInt(text.trim(), 10)
  return Number.isInteger(pid) && pid > 0 ? pid : undefined
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return false // ours but not in `held`: left by an earlier process that had our PID
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function inUse(dir: string, pid: number, path: string): Error {
  return new Error(
    `jobs: the job directory ${dir} (under dataDir) is in use by another carafe process (PID ${pid}); stop it, or ` +
      `give this server its own dataDir. If no such process is running, remove ${path}`,
  )
}
