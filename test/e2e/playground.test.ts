import assert from 'node:assert/strict'
import { test } from 'node:test'
import { example } from '../helpers/paths.js'
import { post, startServer } from '../helpers/server.js'
import { launchBrowser, recordedPage, screenshot } from './browser.js'

function assertLocalOnly(requests: string[]) {
  assert.ok(requests.length > 0, 'the browser made no requests')
  for (const url of requests) assert.equal(new URL(url).hostname, '127.0.0.1', `request left 127.0.0.1: ${url}`)
}

test('playground: list, iris example, predict, bar chart, inline field error, all traffic local', async (t) => {
  const browser = await launchBrowser(t)
  const server = await startServer(example('iris'), { t })
  const { page, requests } = await recordedPage(browser)

  await page.goto(server.url + '/')
  const row = page.locator('tr[data-model="iris"]')
  assert.match(await row.innerText(), /iris[\s\S]*Iris species[\s\S]*1[\s\S]*ready/)
  await screenshot(page, 'index')

  await row.getByRole('link', { name: 'iris' }).click()
  await page.waitForURL(/\/ui\/models\/iris$/)
  await page.getByRole('button', { name: 'Use example' }).click()
  assert.equal(await page.getByLabel('Feature 0').inputValue(), '5.1')
  assert.equal(await page.locator('#fields input[type=number]').count(), 4)
  await page.getByRole('button', { name: 'Predict' }).click()
  await page.locator('#predicted-label').waitFor()
  assert.equal(await page.locator('#predicted-label').innerText(), 'setosa')
  const bars = page.locator('.bar-chart .bar')
  assert.equal(await bars.count(), 3)
  assert.equal(await page.locator('.bar.top').getAttribute('data-label'), 'setosa')
  assert.ok(Number(await page.locator('.bar.top').getAttribute('data-probability')) > 0.5)
  // the bars are drawn to scale (a style="" attribute would be refused by the page's CSP and leave every bar full)
  const widths = await bars
    .locator('.bar-fill')
    .evaluateAll((fills) =>
      fills.map((f) => f.getBoundingClientRect().width / f.parentElement!.getBoundingClientRect().width),
    )
  assert.ok(widths[0]! > 0.5 && widths[1]! < 0.5 && widths[2]! < 0.5, `bar widths ${widths}`)
  assert.match(await page.locator('#latency').innerText(), /\d+ ms/)
  await page.getByRole('button', { name: 'Show raw JSON' }).click()
  assert.match(await page.locator('#raw-json').innerText(), /"predictions"/)
  await screenshot(page, 'iris-predicted')

  // the second example is virginica
  await page.locator('#example-select').selectOption({ label: 'Example 2' })
  await page.getByRole('button', { name: 'Use example' }).click()
  await page.getByRole('button', { name: 'Predict' }).click()
  await page.locator('#predicted-label[data-label="virginica"]').waitFor()

  // an emptied number field reaches the server as typed (""), and the error shows next to that field
  await page.getByLabel('Feature 1').fill('')
  await page.getByRole('button', { name: 'Predict' }).click()
  const fieldError = page.locator('.field[data-path="/1"] .field-error')
  await fieldError.waitFor({ state: 'visible' })
  assert.match(await fieldError.innerText(), /INVALID_INPUT: must be number/)
  assert.equal(await page.getByLabel('Feature 1').getAttribute('aria-invalid'), 'true')
  assert.equal(await page.locator('.field[data-path="/0"] .field-error').isVisible(), false)
  assert.match(await page.locator('#form-error').innerText(), /INVALID_INPUT/)
  await screenshot(page, 'iris-field-error')

  assertLocalOnly(requests)
})

test('playground: run as background job and watch it finish', async (t) => {
  const server = await startServer(example('iris'), { t })
  const probe = await post(server.url + '/v1/models/iris/jobs', { instances: [[5.1, 3.5, 1.4, 0.2]] })
  if (probe.status === 404) {
    const reason = `jobs API not merged yet: POST /v1/models/iris/jobs answered 404 ${probe.body?.error?.code ?? ''}`
    console.log(`\n*** SKIPPING job-mode e2e: ${reason} ***\n`)
    return t.skip(reason)
  }
  const browser = await launchBrowser(t)
  const { page, requests } = await recordedPage(browser)
  await page.goto(server.url + '/ui/models/iris')
  await page.getByRole('button', { name: 'Use example' }).click()
  await page.getByRole('button', { name: 'Run as background job' }).click()
  await page.locator('#job-status[data-status="succeeded"]').waitFor()
  assert.equal(await page.locator('#job-progress').evaluate((el: any) => el.value), 1)
  assert.equal(await page.locator('#predicted-label').innerText(), 'setosa')
  await screenshot(page, 'iris-job')
  assertLocalOnly(requests)
})
