import type { FastifyInstance } from 'fastify'
import { CarafeError } from '../errors.js'
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../model/index.js'

// JSON is UTF-8 on the wire (RFC 8259 §8.1); "utf8" is the WHATWG Encoding Standard's other label for it.
const UTF8_LABELS = new Set(['utf-8', 'utf8'])
const CHARSET_PARAM = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i

/**
 * The JSON body parser of the API routes: Fastify's own (prototype poisoning refused), behind a charset check and
 * followed by a nesting-depth check.
 * Fastify reads every JSON body as UTF-8 whatever charset the client declares, so `charset=utf-16` or `latin1`
 * would be decoded into the wrong text; it is refused with 415 instead.
 */
export function utf8JsonParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const charset = charsetOf(request.headers['content-type'])
    if (charset !== undefined && !UTF8_LABELS.has(charset)) {
      done(
        new CarafeError(
          'UNSUPPORTED_MEDIA_TYPE',
          `The body is declared as charset "${charset}"; JSON bodies are accepted in utf-8 only (content-type: application/json, or application/json; charset=utf-8)`,
          [{ charset, accepted: ['utf-8'] }],
        ),
        undefined,
      )
      return
    }
    parseJson(request, body as string, (error, value) => {
      if (error) done(error, undefined)
      else if (nestsDeeperThan(value)) done(tooDeep(), undefined)
      else done(null, value)
    })
  })
}

/** 400 NESTING_TOO_DEEP: one limit for every JSON body, checked once after parsing and before any recursive code sees it. */
export function tooDeep(): CarafeError {
  return new CarafeError(
    'NESTING_TOO_DEEP',
    `The JSON nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep`,
    [{ limit: MAX_JSON_DEPTH }],
  )
}

/** The charset parameter of a content type, lower-cased; undefined when there is none. */
export function charsetOf(contentType: string | undefined): string | undefined {
  const match = contentType === undefined ? null : CHARSET_PARAM.exec(contentType)
  return match ? (match[1] ?? match[2]).trim().toLowerCase() : undefined
}
