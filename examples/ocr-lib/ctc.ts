/** The recognition alphabet and CTC greedy decoding, as PaddleOCR's CTCLabelDecode. */

import { readFile } from 'node:fs/promises'

export interface Recognition {
  text: string
  /** Mean of the winning probabilities over the kept time steps; 0 when nothing was read. */
  confidence: number
}

// Class 0 is the CTC blank; PaddleOCR appends a space (use_space_char) after the dictionary, so the
// model's last dimension is dictionary length + 2 (6623 + 2 = 6625 for ppocr_keys_v1.txt).
const BLANK = ''
const SPACE = ' '

/** Builds the class table from a dictionary file's text: one character per line. */
export function charsetFromDictionary(text: string): string[] {
  const lines = text.split('\n').map((line) => line.replace(/\r$/, ''))
  if (lines[lines.length - 1] === '') lines.pop() // a final newline is not an empty character
  return [BLANK, ...lines, SPACE]
}

export async function loadCharset(dictionaryPath: string): Promise<string[]> {
  return charsetFromDictionary(await readFile(dictionaryPath, 'utf8'))
}

/**
 * Greedy CTC over softmax output [batch, steps, classes]: arg-max per step, collapse repeats
 * (a blank between two equal classes keeps both), then drop blanks.
 */
export function ctcGreedyDecode(
  probs: Float32Array,
  dims: readonly number[],
  charset: readonly string[],
): Recognition[] {
  const [batch, steps, classes] = dims as [number, number, number]
  if (classes !== charset.length) {
    throw new Error(
      `ctcGreedyDecode: model has ${classes} classes but the charset has ${charset.length} ` +
        '(blank + dictionary + space); is the dictionary the one this model was trained with?',
    )
  }
  const results: Recognition[] = []
  for (let n = 0; n < batch; n++) {
    let text = ''
    let sum = 0
    let kept = 0
    let previous = -1
    for (let t = 0; t < steps; t++) {
      const base = (n * steps + t) * classes
      let best = 0
      let bestProb = probs[base]!
      for (let c = 1; c < classes; c++) {
        const p = probs[base + c]!
        if (p > bestProb) {
          best = c
          bestProb = p
        }
      }
      if (best !== 0 && best !== previous) {
        text += charset[best]
        sum += bestProb
        kept++
      }
      previous = best
    }
    results.push({ text, confidence: kept > 0 ? sum / kept : 0 })
  }
  return results
}
