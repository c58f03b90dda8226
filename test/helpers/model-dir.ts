import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { TestContext } from 'node:test'

/** A throwaway model directory written from an object of files (Cog's txtar idea); removed after the test. */
export async function modelDir(
  files: Record<string, string | Uint8Array>,
  t?: Pick<TestContext, 'after'>,
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'carafe-test-'))
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true })
    await writeFile(join(dir, name), content)
  }
  t?.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}
