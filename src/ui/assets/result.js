// Renders predictions for people: a labelled bar chart for classifiers, a table for numbers, boxes and fields otherwise.
// The raw JSON is shown once, on demand, by the page.
// Boxes are listed here too; overlay.js draws them over the image.
import { findBoxes } from './overlay.js'

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v)
  if (text !== undefined) node.textContent = text
  return node
}

const isClassification = (p) =>
  p && typeof p === 'object' && typeof p.label === 'string' && p.probabilities && typeof p.probabilities === 'object'
const isNumbers = (p) => Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'number')

function barChart(p) {
  const entries = Object.entries(p.probabilities).sort((a, b) => b[1] - a[1])
  const top = entries[0][0]
  const box = el('div', { class: 'classification' })
  const heading = el('p', { class: 'predicted' }, 'Predicted class: ')
  heading.append(el('strong', { id: 'predicted-label', 'data-label': p.label }, p.label))
  const chart = el('ul', { class: 'bar-chart', 'aria-label': 'Class probabilities' })
  for (const [label, probability] of entries) {
    const percent = (probability * 100).toFixed(1)
    const row = el('li', {
      class: label === top ? 'bar top' : 'bar',
      'data-label': label,
      'data-probability': String(probability),
    })
    if (label === top) row.setAttribute('aria-current', 'true')
    row.append(el('span', { class: 'bar-label' }, label))
    const track = el('span', { class: 'bar-track', role: 'img', 'aria-label': `${label}: ${percent}%` })
    const fill = el('span', { class: 'bar-fill' })
    fill.style.width = `${Math.max(0, Math.min(100, probability * 100))}%` // CSSOM: the CSP refuses style="" attributes
    track.append(fill)
    row.append(track, el('span', { class: 'bar-value' }, percent + '%'))
    chart.append(row)
  }
  box.append(heading, chart)
  return box
}

function numberTable(p) {
  const table = el('table', { class: 'numbers' })
  const head = el('tr')
  head.append(el('th', { scope: 'col' }, 'Index'), el('th', { scope: 'col' }, 'Value'))
  table.append(head)
  p.forEach((value, i) => {
    const row = el('tr')
    row.append(el('td', {}, String(i)), el('td', {}, String(value)))
    table.append(row)
  })
  return table
}

/** The other fields of an object prediction, one row each: scalars as they are, nested values as compact JSON. */
function fieldList(p, skip) {
  const list = el('dl', { class: 'fields' })
  for (const [key, value] of Object.entries(p)) {
    if (value === skip) continue
    const text = value !== null && typeof value === 'object' ? JSON.stringify(value) : String(value)
    list.append(el('dt', {}, key), el('dd', {}, text))
  }
  return list
}

const scoreOf = (box) => (Number.isFinite(box.confidence) ? box.confidence : box.score)

function boxTable(boxes) {
  const withText = boxes.some((box) => typeof box.text === 'string')
  const table = el('table', { class: 'boxes' })
  table.append(el('caption', {}, `${boxes.length} box${boxes.length === 1 ? '' : 'es'} found, drawn over the image`))
  const head = el('tr')
  head.append(el('th', { scope: 'col' }, 'Box'))
  if (withText) head.append(el('th', { scope: 'col' }, 'Text'))
  head.append(el('th', { scope: 'col' }, boxes.some((b) => Number.isFinite(b.confidence)) ? 'Confidence' : 'Score'))
  table.append(head)
  boxes.forEach((box, i) => {
    const row = el('tr', { 'data-index': String(i) })
    row.append(el('td', {}, String(i + 1)))
    if (withText) row.append(el('td', { class: 'box-text' }, typeof box.text === 'string' ? box.text : ''))
    row.append(el('td', {}, Number.isFinite(scoreOf(box)) ? scoreOf(box).toFixed(3) : ''))
    table.append(row)
  })
  return table
}

/** Replace the view with one rendering per prediction. */
export function renderPredictions(view, predictions) {
  view.replaceChildren()
  predictions.forEach((p, i) => {
    const section = el('div', { class: 'prediction', 'data-index': String(i) })
    if (predictions.length > 1) section.append(el('h3', {}, 'Instance ' + i))
    if (isClassification(p)) section.append(barChart(p))
    else if (isNumbers(p)) section.append(numberTable(p))
    else if (typeof p === 'number' || typeof p === 'string') section.append(el('p', { class: 'scalar' }, String(p)))
    else {
      const boxes = findBoxes(p)
      if (boxes.length > 0) section.append(boxTable(boxes))
      if (p !== null && typeof p === 'object' && !Array.isArray(p)) section.append(fieldList(p, boxes))
      else section.append(el('code', { class: 'compact-json' }, JSON.stringify(p)))
    }
    view.append(section)
  })
}
