// An image input (schema marked "x-carafe-image"): a file picker and a preview that also takes a dropped file.
// The value sent is the chosen file as a data URL, or the example's own value (base64, data URL or {"b64": ...}).
import { emptyOverlay } from './overlay.js'

const values = new WeakMap() // file input → the value the instance carries for it

// Leading base64 characters of each format's magic bytes, for a preview of a bare base64 example.
const MAGIC = [
  ['iVBORw0KGgo', 'image/png'],
  ['/9j/', 'image/jpeg'],
  ['R0lGOD', 'image/gif'],
  ['UklGR', 'image/webp'],
  ['Qk', 'image/bmp'],
  ['PHN2Zy', 'image/svg+xml'],
  ['PD94bWw', 'image/svg+xml'],
]

export const isImageSchema = (s) => Boolean(s?.['x-carafe-image'])

/** An image value in any accepted shape → a data URL an <img> can show (undefined when it is not one). */
export function toDataUrl(value) {
  const raw = typeof value === 'string' ? value : value && typeof value.b64 === 'string' ? value.b64 : undefined
  if (!raw) return undefined
  if (raw.startsWith('data:')) return raw
  const compact = raw.replace(/\s+/g, '').replace(/-/g, '+').replace(/_/g, '/') // base64url → base64
  const type = (MAGIC.find(([prefix]) => compact.startsWith(prefix)) || [undefined, 'image/png'])[1]
  return `data:${type};base64,${compact}`
}

function readAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader()
    reader.onload = () => resolve(reader.result)
    reader.onerror = () => reject(reader.error)
    reader.readAsDataURL(file)
  })
}

/** The preview box: the image with an empty SVG overlay on top (overlay.js draws into it). */
function previewBox(id) {
  const box = document.createElement('div')
  box.className = 'image-preview'
  box.id = id + '-preview'
  box.dataset.empty = 'true'
  const img = document.createElement('img')
  img.alt = ''
  const hint = document.createElement('p')
  hint.className = 'image-hint muted'
  hint.textContent = 'No image yet: choose a file or drop one here.'
  box.append(img, emptyOverlay(), hint)
  return box
}

/** Show a value in the preview and remember it as the field's value; any old overlay is cleared. */
export function setImage(input, value, description) {
  values.set(input, value)
  const box = input.closest('.field').querySelector('.image-preview')
  const url = toDataUrl(value)
  const img = box.querySelector('img')
  box.querySelector('svg.overlay').replaceChildren() // old boxes belong to the old image
  box.dataset.empty = String(!url)
  if (url) img.src = url
  else img.removeAttribute('src')
  img.alt = url ? description : ''
}

async function useFile(input, file) {
  if (!file) return
  setImage(input, await readAsDataUrl(file), 'Chosen image: ' + file.name)
}

function acceptDrops(box, input) {
  box.addEventListener('dragover', (event) => {
    event.preventDefault()
    box.classList.add('drop-target')
  })
  box.addEventListener('dragleave', () => box.classList.remove('drop-target'))
  box.addEventListener('drop', (event) => {
    event.preventDefault()
    box.classList.remove('drop-target')
    const file = [...(event.dataTransfer?.files || [])].find((f) => f.type.startsWith('image/'))
    useFile(input, file)
  })
}

/** The <input type=file> of an image field and its preview box, to be placed in the field in that order. */
export function imageInput(id) {
  const input = document.createElement('input')
  input.type = 'file'
  input.accept = 'image/*'
  input.addEventListener('change', () => useFile(input, input.files?.[0]))
  const box = previewBox(id)
  acceptDrops(box, input)
  return [input, box]
}

/** Fill the field from an example's value; the picker is reset so choosing any file afterwards counts. */
export function fillImage(input, value) {
  input.value = ''
  setImage(input, value, 'Example image')
}

/** The instance's value for the field ('' when none is chosen, so the server names the field). */
export const readImage = (input) => values.get(input) ?? ''

/** The preview box of the first image field in the form, where results are drawn. */
export const firstPreview = (container) => container.querySelector('.image-preview')
