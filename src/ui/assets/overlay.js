// Draws detection answers over the image preview: one polygon per box whose `points` are four [x, y] corners in
// pixels of the original image, labelled with its recognized text or its score. Recognized by shape, not model name.
const SVG = 'http://www.w3.org/2000/svg'
const SEARCH_DEPTH = 3 // boxes sit at most a few levels down ({boxes: [...]}, {lines: [...]}, {result: {boxes}})
const MIN_LABEL_PX = 12 // on screen, when drawn: a small box's label stays readable

const isPoint = (p) => Array.isArray(p) && p.length === 2 && p.every((v) => Number.isFinite(v))
const isBox = (b) =>
  Boolean(b) && typeof b === 'object' && Array.isArray(b.points) && b.points.length === 4 && b.points.every(isPoint)

/** The first non-empty array of boxes in a prediction, searched breadth-first; [] when it has none. */
export function findBoxes(prediction) {
  let level = [prediction]
  for (let depth = 0; depth <= SEARCH_DEPTH && level.length > 0; depth++) {
    const next = []
    for (const value of level) {
      if (Array.isArray(value) && value.length > 0 && value.every(isBox)) return value
      if (value && typeof value === 'object') next.push(...Object.values(value))
    }
    level = next
  }
  return []
}

/** What a box says about itself: its text when recognized, otherwise its score. */
export function boxLabel(box) {
  if (typeof box.text === 'string' && box.text !== '') return box.text
  const score = Number.isFinite(box.confidence) ? box.confidence : box.score
  return Number.isFinite(score) ? score.toFixed(2) : ''
}

function svgEl(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag)
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v))
  if (text !== undefined) node.textContent = text
  return node
}

const distance = ([ax, ay], [bx, by]) => Math.hypot(ax - bx, ay - by)

// A label above the box (below it when the box touches the top), in image pixels like the box, so it scales with it.
function label(box, index, minSize) {
  const xs = box.points.map((p) => p[0])
  const ys = box.points.map((p) => p[1])
  const size = Math.max(distance(box.points[0], box.points[3]) * 0.45, minSize)
  const top = Math.min(...ys)
  const y = top >= size ? top - size * 0.25 : Math.max(...ys) + size
  return svgEl(
    'text',
    {
      x: Math.min(...xs),
      y,
      'font-size': size.toFixed(1),
      'stroke-width': (size * 0.18).toFixed(1),
      'data-index': index,
    },
    boxLabel(box),
  )
}

function boxShape(box, index, minLabelSize) {
  const group = svgEl('g', { class: 'box', 'data-index': index })
  const text = boxLabel(box)
  group.append(
    svgEl('title', {}, `Box ${index + 1}${text ? ': ' + text : ''}`),
    svgEl('polygon', { points: box.points.map((p) => p.join(',')).join(' '), 'data-index': index }),
  )
  if (text) group.append(label(box, index, minLabelSize))
  return group
}

/** The SVG laid over an image preview; hidden from screen readers, since the result table lists the same boxes. */
export function emptyOverlay() {
  return svgEl('svg', { class: 'overlay', 'aria-hidden': 'true' })
}

/**
 * Replace the overlay of a preview box with these boxes; the viewBox is the image's natural size, so it scales with it.
 * `sentImage`: the preview's src when the request was sent; boxes are not drawn over an image chosen since.
 */
export async function drawBoxes(preview, boxes, sentImage) {
  const img = preview.querySelector('img')
  const svg = preview.querySelector('svg.overlay')
  svg.replaceChildren()
  if (boxes.length === 0 || !img.getAttribute('src')) return
  if (sentImage !== undefined && img.src !== sentImage) return
  const src = img.src
  await img.decode().catch(() => {}) // the preview may still be decoding a just-chosen file
  if (img.src !== src) return // another image was chosen meanwhile: these boxes are not its
  const { naturalWidth: width, naturalHeight: height } = img
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`)
  svg.setAttribute('preserveAspectRatio', 'none')
  const pixelsPerScreenPixel = width / (img.clientWidth || width)
  svg.append(...boxes.map((box, i) => boxShape(box, i, MIN_LABEL_PX * pixelsPerScreenPixel)))
}
