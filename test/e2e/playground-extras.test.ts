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
  // auth lives in another branch: the browser sees a 401 envelope unless the key is sent, as the server will answer
  const authorizations: (string | undefined)[] = []
  await page.route('**/v1/models/iris', async (route) => {
    const auth = route.request().headers().authorization
    authorizations.push(auth)
    if (auth === `Bearer ${KEY}`) return route.continue()
    return route.fulfill({ status: 401, contentType: 'application/json', body: JSON.stringify({ error: { code: 'UNAUTHORIZED', message: 'A valid API key is required', details: [], requestId: 'x' } }) })
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
