import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { chromium, type Browser, type Page } from 'playwright-core'
import { ROOT } from '../helpers/paths.js'

export const CHROMIUM = process.env.CARAFE_CHROMIUM ?? '/usr/bin/chromium'
export const ARTIFACTS = join(ROOT, 'artifacts')

/** Debian's Chromium, headless; a missing binary fails the test (`npm test` installs it first when it can: scripts/test-deps.sh). */
export async function launchBrowser(t: Pick<TestContext, 'after'>): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install it with "apt-get update && apt-get install -y chromium" (never "npx playwright install")`,
    )
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
  t.after(() => browser.close())
  return browser
}

/** A page whose every request URL is recorded, to prove nothing leaves 127.0.0.1. */
export async function recordedPage(browser: Browser): Promise<{ page: Page; requests: string[] }> {
  const page = await browser.newPage()
  page.setDefaultTimeout(20_000)
  const requests: string[] = []
  page.on('request', (request) => requests.push(request.url()))
  return { page, requests }
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })
}
