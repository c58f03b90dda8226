// Builds the input form from the model's JSON Schema; every field carries the JSON pointer it fills (data-path).
import { fillImage, imageInput, isImageSchema, readImage } from './image-field.js'

const MAX_SEPARATE_FIELDS = 32 // longer number arrays get one paste box instead of a row of fields

let uid = 0

function field(container, { path, label, help, kind, options, optional = false }) {
  const id = 'field-' + uid++
  const wrap = document.createElement('div')
  wrap.className = 'field'
  wrap.dataset.path = path
  const labelEl = document.createElement('label')
  labelEl.htmlFor = id
  labelEl.textContent = label
  let input
  const extras = [] // shown after the field's error line (an image's preview)
  if (kind === 'image') {
    wrap.classList.add('field-image')
    const [picker, preview] = imageInput(id)
    input = picker
    extras.push(preview)
  } else if (kind === 'select') {
    input = document.createElement('select')
    for (const option of options) {
      const o = document.createElement('option')
      o.value = JSON.stringify(option)
      o.textContent = String(option)
      input.append(o)
    }
  } else if (kind === 'json' || kind === 'numbers' || kind === 'text') {
    input = document.createElement('textarea')
    input.rows = kind === 'json' ? 8 : 3
  } else {
    input = document.createElement('input')
    input.type = kind === 'boolean' ? 'checkbox' : kind === 'number' || kind === 'integer' ? 'number' : 'text'
    if (kind === 'number') input.step = 'any'
  }
  input.id = id
  input.dataset.kind = kind
  input.dataset.path = path
  if (optional) input.dataset.optional = 'true'
  const error = document.createElement('div')
  error.className = 'field-error'
  error.id = id + '-error'
  error.setAttribute('role', 'alert')
  error.hidden = true
  const described = [error.id]
  const parts = [labelEl, input]
  if (help) {
    const helpEl = document.createElement('div')
    helpEl.className = 'field-help'
    helpEl.id = id + '-help'
    helpEl.textContent = help
    described.unshift(helpEl.id)
    parts.push(helpEl)
  }
  input.setAttribute('aria-describedby', described.join(' '))
  wrap.append(...parts, error, ...extras)
  container.append(wrap)
}

function isFixedNumberArray(s) {
  return (
    s &&
    s.type === 'array' &&
    s.items &&
    (s.items.type === 'number' || s.items.type === 'integer') &&
    s.minItems === s.maxItems &&
    s.minItems > 0
  )
}

function scalarKind(s) {
  if (!s) return 'json'
  if (isImageSchema(s)) return 'image'
  if (Array.isArray(s.enum)) return 'select'
  if (s.type === 'number' || s.type === 'integer' || s.type === 'boolean') return s.type
  if (s.type === 'string') return s.maxLength && s.maxLength <= 200 ? 'string' : 'text'
  if (s.type === 'array' && s.items && (s.items.type === 'number' || s.items.type === 'integer')) return 'numbers'
  return 'json'
}

/** Lay out fields for one instance; returns nothing, the DOM is the state. */
export function buildForm(container, schema) {
  const label = (s, fallback) => (s && (s.title || s.description)) || fallback
  if (isFixedNumberArray(schema) && schema.minItems <= MAX_SEPARATE_FIELDS) {
    const names = schema['x-carafe-names'] || [] // carafe.yaml inputNames
    for (let i = 0; i < schema.minItems; i++)
      field(container, {
        path: '/' + i,
        label: names[i] || label(schema.prefixItems?.[i], 'Feature ' + i),
        kind: schema.items.type,
      })
  } else if (schema && schema.type === 'object' && schema.properties) {
    const required = new Set(schema.required || [])
    for (const [name, s] of Object.entries(schema.properties)) {
      const kind = scalarKind(s)
      // the name is what an API user writes, so it is the label; the description is help under the field (not for
      // an image, whose description tells API users how to encode it, which the picker does)
      field(container, {
        path: '/' + name,
        label: s.title || name,
        help: kind === 'image' ? undefined : s.description,
        kind,
        options: s.enum,
        optional: !required.has(name),
      })
    }
  } else {
    const kind = scalarKind(schema)
    const labels = { numbers: 'Numbers (comma or space separated)', json: 'Instance (JSON)', image: 'Image' }
    field(container, { path: '', label: labels[kind] || 'Input', kind, options: schema?.enum })
  }
}

function readInput(input) {
  const raw = input.value
  switch (input.dataset.kind) {
    case 'number':
    case 'integer':
      return raw.trim() === '' ? raw : Number.isFinite(Number(raw)) ? Number(raw) : raw
    case 'boolean':
      return input.checked
    case 'image':
      return readImage(input)
    case 'select':
      return JSON.parse(raw)
    case 'numbers':
      return raw
        .split(/[\s,]+/)
        .filter(Boolean)
        .map((x) => (Number.isFinite(Number(x)) ? Number(x) : x))
    case 'json':
      try {
        return JSON.parse(raw)
      } catch {
        throw Object.assign(new Error('Not valid JSON'), { path: input.dataset.path })
      }
    default:
      return raw
  }
}

// An optional property left empty is left out of the instance, so the model's own default applies.
function isBlank(input) {
  if (input.dataset.kind === 'image') return readImage(input) === ''
  if (input.dataset.kind === 'boolean' || input.dataset.kind === 'select') return false
  return input.value.trim() === ''
}

/** One instance from the form; a field the user left unparseable is sent as typed, so the server names it. */
export function readForm(container) {
  const inputs = [...container.querySelectorAll('[data-kind]')]
  if (inputs.length === 1 && inputs[0].dataset.path === '') return readInput(inputs[0])
  const numeric = inputs.every((i) => /^\/\d+$/.test(i.dataset.path))
  const value = numeric ? [] : {}
  for (const input of inputs) {
    if (input.dataset.optional && isBlank(input)) continue
    value[numeric ? Number(input.dataset.path.slice(1)) : input.dataset.path.slice(1)] = readInput(input)
  }
  return value
}

/** Put an instance's values in the form; `onlyKind` fills just the fields of that kind (the page preloads images). */
export function fillForm(container, instance, { onlyKind } = {}) {
  for (const input of container.querySelectorAll(onlyKind ? `[data-kind="${onlyKind}"]` : '[data-kind]')) {
    const path = input.dataset.path
    const value = path === '' ? instance : instance == null ? undefined : instance[path.slice(1)]
    if (input.dataset.kind === 'boolean') input.checked = Boolean(value)
    else if (input.dataset.kind === 'image') fillImage(input, value)
    else if (input.dataset.kind === 'json') input.value = value === undefined ? '' : JSON.stringify(value, null, 2)
    else if (input.dataset.kind === 'numbers') input.value = (value || []).join(', ')
    else if (input.dataset.kind === 'select') input.value = JSON.stringify(value)
    else input.value = value == null ? '' : String(value)
  }
}

export function clearFieldErrors(container) {
  for (const el of container.querySelectorAll('.field-error')) {
    el.hidden = true
    el.textContent = ''
  }
  for (const el of container.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid')
}

/** Show the message next to the field whose pointer starts the error's path; false when no field matches. */
export function showFieldError(container, path, text) {
  const wraps = [...container.querySelectorAll('.field')]
  const wrap =
    wraps.find((w) => w.dataset.path !== '' && (path === w.dataset.path || path.startsWith(w.dataset.path + '/'))) ||
    wraps.find((w) => w.dataset.path === '')
  if (!wrap) return false
  const error = wrap.querySelector('.field-error')
  error.textContent = text
  error.hidden = false
  wrap.querySelector('[data-kind]').setAttribute('aria-invalid', 'true')
  return true
}
