/** Server-rendered HTML shells; the playground form itself is built in the browser from GET /v1/models/{name}. */

export interface ModelSummary {
  name: string
  description: string
  version: string
  state: string
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

function layout(title: string, body: string, script?: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="/ui/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/ui/assets/style.css">
</head>
<body>
<header><a href="/" class="brand">Carafe</a> <nav><a href="/docs">API docs</a> <a href="/openapi.json">OpenAPI</a></nav></header>
<main>
${body}
</main>
${script ? `<script type="module" src="${script}"></script>` : ''}
</body>
</html>
`
}

/** GET /: every served model with its state and a link to its playground. */
export function indexPage(models: ModelSummary[]): string {
  const rows = models
    .map(
      (m) => `<tr data-model="${escapeHtml(m.name)}">
  <td><a href="/ui/models/${encodeURIComponent(m.name)}">${escapeHtml(m.name)}</a></td>
  <td>${escapeHtml(m.description)}</td>
  <td>${escapeHtml(m.version)}</td>
  <td><span class="state state-${escapeHtml(m.state)}">${escapeHtml(m.state)}</span></td>
</tr>`,
    )
    .join('\n')
  return layout(
    'Carafe models',
    `<h1>Models</h1>
<table class="models">
<caption>${models.length} model${models.length === 1 ? '' : 's'} served</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Description</th><th scope="col">Version</th><th scope="col">State</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`,
  )
}

/** GET /ui/models/{name}: returned at once; playground.js fetches the schema and builds the form. */
export function playgroundPage(name: string): string {
  const n = escapeHtml(name)
  return layout(
    `${name} · Carafe playground`,
    `<h1>Model <code id="model-name">${n}</code></h1>
<p id="model-description" class="muted">Loading the model schema…</p>
<section id="api-key" hidden aria-labelledby="api-key-title">
  <h2 id="api-key-title">API key required</h2>
  <form id="api-key-form">
    <label for="api-key-input">API key (kept for this browser session only)</label>
    <input id="api-key-input" type="password" autocomplete="off" required>
    <button type="submit">Save key and retry</button>
  </form>
</section>
<form id="predict-form" data-model="${n}" novalidate>
  <fieldset id="fields"><legend>Input</legend></fieldset>
  <div class="actions">
    <label for="example-select" class="sr-only">Example</label>
    <select id="example-select" hidden></select>
    <button type="button" id="use-example" hidden>Use example</button>
    <button type="submit" id="predict">Predict</button>
    <button type="button" id="run-job">Run as background job</button>
  </div>
</form>
<div id="form-error" class="error" role="alert" hidden></div>
<section id="job" hidden aria-labelledby="job-title">
  <h2 id="job-title">Background job</h2>
  <p>Job <code id="job-id"></code>: <span id="job-status"></span></p>
  <label for="job-progress">Progress</label> <progress id="job-progress" max="1" value="0"></progress>
  <button type="button" id="job-cancel">Cancel job</button>
</section>
<section id="result" aria-live="polite" aria-busy="false" hidden aria-labelledby="result-title">
  <h2 id="result-title">Result</h2>
  <p>Latency: <span id="latency"></span></p>
  <div id="result-view"></div>
  <button type="button" id="toggle-raw" aria-expanded="false" aria-controls="raw-json">Show raw JSON</button>
  <pre id="raw-json" hidden></pre>
</section>`,
    '/ui/assets/playground.js',
  )
}
