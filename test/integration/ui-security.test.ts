import assert from 'node:assert/strict'
import { it } from 'node:test'
import { example } from '../helpers/paths.js'
import { get, startServer } from '../helpers/server.js'

it('web pages carry a CSP and nosniff; the JSON API does not get the page policy', async (t) => {
  const { url } = await startServer(example('iris'), { t })
  for (const path of ['/', '/ui/models/iris']) {
    const page = await get(`${url}${path}`)
    assert.equal(page.status, 200)
    const csp = page.headers.get('content-security-policy') ?? ''
    assert.match(csp, /script-src 'self'/, path)
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, path)
    // the image preview is a data: URL; nothing else (no blob:, no other host) may load images
    assert.match(csp, /(^|;)\s*img-src 'self' data:\s*(;|$)/, path)
    assert.doesNotMatch(csp, /blob:|https?:|\*/, path)
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff', path)
  }
  const api = await get(`${url}/v1/models`)
  assert.equal(api.status, 200)
  assert.equal(api.headers.get('content-security-policy'), null)
})
