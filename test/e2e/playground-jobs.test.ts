import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fixture } from '../helpers/paths.js'
import { startServer } from '../helpers/server.js'
import { launchBrowser, screenshot } from './browser.js'

test('playground: a background job shows its progress and result from the event stream, with no status polls', async (t) => {
  const gates = await mkdtemp(join(tmpdir(), 'carafe-gates-'))
  t.after(() => rm(gates, { recursive: true, force: true }))
  const server = await startServer(fixture('handlers/gated-progress.ts'), { t })
  const browser = await launchBrowser(t)
  const page = await browser.newPage()
  page.setDefaultTimeout(20_000)
  const requests: string[] = []
  page.on('request', (request) => requests.push(`${request.method()} ${new URL(request.url()).pathname}`))
  const errors: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text())
  })

  await page.goto(server.url + '/ui/models/gated')
  const gate = join(gates, 'gate')
  await page.getByLabel('gate').fill(gate)
  await page.getByRole('button', { name: 'Run as background job' }).click()
  // held at 0.5 by the fixture: this state can only have come from the stream while the job runs
  await page.locator('#job-status[data-status="running"]').waitFor()
  await page.waitForFunction(() => (document.getElementById('job-progress') as HTMLProgressElement).value === 0.5)
  await screenshot(page, 'job-progress')
  await writeFile(gate, '')
  await page.locator('#job-status[data-status="succeeded"]').waitFor()
  assert.equal(await page.locator('#job-progress').evaluate((el: HTMLProgressElement) => el.value), 1)
  await page.locator('#result:not([hidden])').waitFor()
  assert.match((await page.locator('#raw-json').textContent()) ?? '', /"released"/)

  const id = await page.locator('#job-id').innerText()
  const jobRequests = requests.filter((r) => r.includes('/v1/jobs/'))
  assert.deepEqual(jobRequests, [`GET /v1/jobs/${id}/events`], 'one event stream and no status polls')
  assert.deepEqual(errors, [])
})
