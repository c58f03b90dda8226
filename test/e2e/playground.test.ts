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
  assert.equal(await page.getByLabel('sepal_length').inputValue(), '5.1')
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
  await page.getByLabel('sepal_width').fill('')
  await page.getByRole('button', { name: 'Predict' }).click()
  const fieldError = page.locator('.field[data-path="/1"] .field-error')
  await fieldError.waitFor({ state: 'visible' })
  assert.match(await fieldError.innerText(), /INVALID_INPUT: must be number/)
  assert.equal(await page.getByLabel('sepal_width').getAttribute('aria-invalid'), 'true')
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

test('playground on a phone (390 px): named iris fields prefilled with the first example, no overflow, no console errors, a favicon', async (t) => {
  const browser = await launchBrowser(t)
  const server = await startServer(example('iris'), { t })
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } })
  page.setDefaultTimeout(20_000)
  const errors: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text())
  })
  page.on('pageerror', (error) => errors.push(error.message))
  const overflow = () =>
    page.evaluate(() => ({ scroll: document.scrollingElement!.scrollWidth, width: window.innerWidth }))

  await page.goto(server.url + '/')
  const index = await overflow()
  assert.ok(index.scroll <= index.width, `the model list is ${index.scroll} px wide on a ${index.width} px screen`)

  await page.goto(server.url + '/ui/models/iris')
  // carafe.yaml inputNames label the fields, and the first example fills them before any click
  const names = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width']
  const values = ['5.1', '3.5', '1.4', '0.2']
  await page.getByLabel(names[0]!).waitFor()
  for (const [i, name] of names.entries()) assert.equal(await page.getByLabel(name).inputValue(), values[i], name)
  await page.getByRole('button', { name: 'Predict' }).click()
  await page.locator('#predicted-label[data-label="setosa"]').waitFor()
  await page.getByRole('button', { name: 'Show raw JSON' }).click()
  const iris = await overflow()
  assert.ok(iris.scroll <= iris.width, `the iris page is ${iris.scroll} px wide on a ${iris.width} px screen`)
  await screenshot(page, 'iris-phone')

  const icon = await page.request.get(server.url + '/favicon.ico')
  assert.equal(icon.status(), 200)
  assert.deepEqual(errors, [])
})
