import assert from 'node:assert/strict'
import { test } from 'node:test'
import { example } from '../helpers/paths.js'
import { startServer } from '../helpers/server.js'
import { launchBrowser, recordedPage, screenshot } from './browser.js'

const KEY = 'k'.repeat(16)

test('playground: a 401 asks for an API key, keeps it in sessionStorage and retries with it', async (t) => {
  const browser = await launchBrowser(t)
  const server = await startServer(example('iris'), { t })
  const { page, requests } = await recordedPage(browser)
  // the route answers a 401 envelope unless the key is sent, as a server with API keys does
  const authorizations: (string | undefined)[] = []
  await page.route('**/v1/models/iris', async (route) => {
    const auth = route.request().headers().authorization
    authorizations.push(auth)
    if (auth === `Bearer ${KEY}`) return route.continue()
    return route.fulfill({
      status: 401,
      contentType: 'application/json',
      body: JSON.stringify({
        error: { code: 'UNAUTHORIZED', message: 'A valid API key is required', details: [], requestId: 'x' },
      }),
    })
  })
  await page.goto(server.url + '/ui/models/iris')
  await page.getByLabel(/API key \(kept/).waitFor()
  await screenshot(page, 'iris-api-key')
  await page.getByLabel(/API key \(kept/).fill(KEY)
  await page.getByRole('button', { name: 'Save key and retry' }).click()
  await page.getByRole('button', { name: 'Use example' }).waitFor()
  assert.equal(await page.evaluate(() => sessionStorage.getItem('carafe.apiKey')), KEY)
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing kept beyond the session')
  assert.deepEqual(authorizations, [undefined, `Bearer ${KEY}`])
  for (const url of requests) assert.equal(new URL(url).hostname, '127.0.0.1', url)
})

test('playground: a long number array gets one paste box and a number table; /docs loads only local files', async (t) => {
  const browser = await launchBrowser(t)
  const server = await startServer(example('mlp'), { t })
  const { page, requests } = await recordedPage(browser)
  await page.goto(server.url + '/ui/models/mlp')
  const box = page.getByLabel(/Numbers/)
  await box.waitFor()
  await box.fill(Array.from({ length: 256 }, (_, i) => (i % 7) / 7).join(', '))
  await page.getByRole('button', { name: 'Predict' }).click()
  await page.locator('table.numbers').waitFor()
  assert.equal(await page.locator('table.numbers tr').count(), 11) // header + 10 scores
  await screenshot(page, 'mlp-table')

  await page.goto(server.url + '/docs')
  await page.locator('.swagger-ui .info').waitFor()
  await page.getByText('/v1/models/mlp:predict').first().waitFor()
  await screenshot(page, 'docs')
  for (const url of requests) assert.equal(new URL(url).hostname, '127.0.0.1', `request left 127.0.0.1: ${url}`)
})

test('playground job mode against the jobs contract (mocked in the browser): event streams cut before the end are reopened; progress, result, cancel', async (t) => {
  const browser = await launchBrowser(t)
  const server = await startServer(example('iris'), { t })
  const { page } = await recordedPage(browser)
  const prediction = { label: 'virginica', probabilities: { setosa: 0.01, versicolor: 0.09, virginica: 0.9 } }
  const polls: Record<string, number> = {}
  let submitted: unknown
  await page.route('**/v1/models/iris/jobs', (route) => {
    submitted = route.request().postDataJSON()
    const id = polls.a === undefined ? 'a' : 'b'
    polls[id] = 0
    return route.fulfill({
      status: 202,
      contentType: 'application/json',
      body: JSON.stringify({ id, status: 'queued', links: { self: `/v1/jobs/${id}` } }),
    })
  })
  // each mocked event stream carries one event and ends, so the page must reopen it until the final one
  await page.route('**/v1/jobs/**', (route) => {
    const id = new URL(route.request().url()).pathname.split('/')[3]!
    if (route.request().method() === 'DELETE') {
      polls[id] = -1
      return route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({ id, status: 'canceled' }),
      })
    }
    const n = polls[id]++
    const job =
      n < 0
        ? { id, status: 'canceled' }
        : id === 'b'
          ? { id, status: 'running', progress: 0.25 }
          : n < 2
            ? { id, status: 'running', progress: 0.5 }
            : { id, status: 'succeeded', progress: 1, result: { predictions: [prediction] } }
    const event = ['succeeded', 'canceled'].includes(job.status) ? 'done' : 'progress'
    return route.fulfill({
      status: 200,
      contentType: 'text/event-stream',
      body: `event: ${event}\ndata: ${JSON.stringify(job)}\n\n`,
    })
  })
  await page.goto(server.url + '/ui/models/iris')
  await page.getByRole('button', { name: 'Use example' }).click()
  await page.getByRole('button', { name: 'Run as background job' }).click()
  await page.locator('#job-status[data-status="succeeded"]').waitFor()
  assert.deepEqual(submitted, { instances: [[5.1, 3.5, 1.4, 0.2]] })
  assert.equal(await page.locator('#predicted-label').innerText(), 'virginica')
  assert.equal(await page.locator('#job-progress').evaluate((el: any) => el.value), 1)

  await page.getByRole('button', { name: 'Run as background job' }).click()
  await page.locator('#job-status[data-status="running"]').waitFor()
  await page.getByRole('button', { name: 'Cancel job' }).click()
  await page.locator('#job-status[data-status="canceled"]').waitFor()
  assert.equal(await page.getByRole('button', { name: 'Run as background job' }).isDisabled(), false)
})
