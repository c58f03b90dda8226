// The playground page: load the schema, build the form, predict or run a background job, show results and errors.
import { api, ApiError, saveApiKey, streamEvents } from './api.js'
import { buildForm, clearFieldErrors, fillForm, readForm, showFieldError } from './form.js'
import { firstPreview } from './image-field.js'
import { drawBoxes, findBoxes } from './overlay.js'
import { renderPredictions } from './result.js'

const RECONNECT_MS = 500 // when a job's event stream is cut before its final event
const $ = (id) => document.getElementById(id)
const form = $('predict-form')
const fields = $('fields')
const name = form.dataset.model
const base = '/v1/models/' + encodeURIComponent(name)
let retry = null // what to run again once the user gives an API key
let currentJob = null

function setBusy(busy, label) {
  for (const id of ['predict', 'run-job']) $(id).disabled = busy
  $('predict').textContent = busy && label === 'predict' ? 'Predicting…' : 'Predict'
  $('result').setAttribute('aria-busy', String(busy))
  form.setAttribute('aria-busy', String(busy))
}

function showError(error) {
  if (error instanceof ApiError && error.status === 401) {
    $('api-key').hidden = false
    $('api-key-input').focus()
    return
  }
  $('result').hidden = true // a stale result next to an error would mislead
  drawOverlay(undefined)
  const box = $('form-error')
  const code = error.code || 'ERROR'
  box.replaceChildren()
  const codeEl = document.createElement('code')
  codeEl.className = 'error-code'
  codeEl.textContent = code
  box.append(codeEl, ' ' + error.message)
  box.hidden = false
  for (const d of error.details || []) {
    const path = typeof d.path === 'string' ? d.path.replace(/^\/body\/instances\/\d+/, '') : null
    if (path !== null) showFieldError(fields, path, `${code}: ${d.message || error.message}`)
  }
}

function clearErrors() {
  $('form-error').hidden = true
  clearFieldErrors(fields)
}

// The page sends one instance, so its image (if the form has one) is the first prediction's.
function drawOverlay(prediction, sentImage) {
  const preview = firstPreview(fields)
  if (preview) drawBoxes(preview, prediction === undefined ? [] : findBoxes(prediction), sentImage)
}

/** The preview's image when a request is sent: its boxes must not be drawn over one chosen while it ran. */
function previewImage() {
  const img = firstPreview(fields)?.querySelector('img')
  return img ? img.src : undefined
}

function showResult(predictions, ms, sentImage) {
  $('result').hidden = false
  $('latency').textContent = ms === undefined ? '—' : `${ms.toFixed(0)} ms`
  renderPredictions($('result-view'), predictions)
  $('raw-json').textContent = JSON.stringify({ predictions }) // compact: pretty-printed, a box is a number per line
  drawOverlay(predictions[0], sentImage)
}

function instance() {
  try {
    return readForm(fields)
  } catch (error) {
    showFieldError(fields, error.path || '', error.message)
    return undefined
  }
}

async function predict() {
  clearErrors()
  const value = instance()
  if (value === undefined) return
  retry = predict
  setBusy(true, 'predict')
  const started = performance.now()
  const sentImage = previewImage()
  try {
    const body = await api('POST', base + ':predict', { instances: [value] })
    showResult(body.predictions, performance.now() - started, sentImage)
  } catch (error) {
    showError(error)
  } finally {
    setBusy(false)
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const FINAL = ['succeeded', 'failed', 'canceled']

function showJob(job) {
  $('job-status').textContent = job.status
  $('job-status').dataset.status = job.status
  $('job-progress').value = job.status === 'succeeded' ? 1 : Number(job.progress) || 0
}

/** The job's events (progress, then done) instead of polling its status; resolves with the final job. */
async function followJob(job) {
  for (;;) {
    await streamEvents('/v1/jobs/' + encodeURIComponent(job.id) + '/events', (_event, data) => {
      job = JSON.parse(data)
      showJob(job)
    })
    if (FINAL.includes(job.status)) return job
    await sleep(RECONNECT_MS)
  }
}
const predictionsOf = (result) =>
  result && Array.isArray(result.predictions) ? result.predictions : Array.isArray(result) ? result : [result]

async function runJob() {
  clearErrors()
  const value = instance()
  if (value === undefined) return
  retry = runJob
  setBusy(true, 'job')
  const started = performance.now()
  const sentImage = previewImage()
  try {
    let job = await api('POST', base + '/jobs', { instances: [value] })
    currentJob = job.id
    $('job').hidden = false
    $('job-id').textContent = job.id
    $('job-cancel').disabled = false
    showJob(job)
    job = await followJob(job)
    $('job-cancel').disabled = true
    if (job.status === 'succeeded') showResult(predictionsOf(job.result), performance.now() - started, sentImage)
    else if (job.status === 'failed')
      showError(Object.assign(new Error(job.error?.message || 'The job failed'), job.error || {}))
  } catch (error) {
    if (error instanceof ApiError && error.status === 404 && error.code === 'NOT_FOUND')
      error.message = 'Background jobs are not available on this server'
    showError(error)
  } finally {
    currentJob = null
    setBusy(false)
  }
}

async function cancelJob() {
  if (!currentJob) return
  try {
    await api('DELETE', '/v1/jobs/' + encodeURIComponent(currentJob))
  } catch (error) {
    showError(error)
  }
}

async function load() {
  let model
  try {
    model = await api('GET', base)
  } catch (error) {
    retry = load
    $('model-description').textContent = ''
    return showError(error)
  }
  $('model-description').textContent = `${model.description || ''} (version ${model.version}, ${model.state})`
  for (const f of fields.querySelectorAll('.field')) f.remove()
  buildForm(fields, model.input)
  const examples = model.examples || []
  if (examples.length > 0) {
    const select = $('example-select')
    select.replaceChildren(
      ...examples.map((_, i) =>
        Object.assign(document.createElement('option'), { value: String(i), textContent: 'Example ' + (i + 1) }),
      ),
    )
    select.hidden = examples.length < 2
    $('use-example').hidden = false
    $('use-example').onclick = () => {
      clearErrors()
      fillForm(fields, examples[Number(select.value) || 0])
    }
    fillForm(fields, examples[0]) // start from the first example, so Predict works at once
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault()
  predict()
})
$('run-job').addEventListener('click', runJob)
$('job-cancel').addEventListener('click', cancelJob)
$('toggle-raw').addEventListener('click', () => {
  const raw = $('raw-json')
  raw.hidden = !raw.hidden
  $('toggle-raw').setAttribute('aria-expanded', String(!raw.hidden))
  $('toggle-raw').textContent = raw.hidden ? 'Show raw JSON' : 'Hide raw JSON'
})
$('api-key-form').addEventListener('submit', (event) => {
  event.preventDefault()
  saveApiKey($('api-key-input').value)
  $('api-key').hidden = true
  if (retry) retry()
})
load()
