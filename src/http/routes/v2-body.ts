import type { FastifyInstance, FastifyRequest } from 'fastify'
import { CarafeError } from '../../errors.js'
import { HEADER_LENGTH, splitBody } from '../protocols/v2-binary.js'

const BINARY = new WeakMap<FastifyRequest, Buffer>()
const JSON_UTF8 = /^application\/json\s*(;\s*charset\s*=\s*"?utf-?8"?\s*)?$/i

/** The binary part of a request that used the Binary Tensor Data extension. */
export function binaryPartOf(request: FastifyRequest): Buffer | undefined {
  return BINARY.get(request)
}

/**
 * The V2 infer routes also read `application/octet-stream` (a JSON header, then binary tensors) and bodies without a
 * content type, which Triton's clients send and Triton reads as JSON. Any other type stays 415; bodyLimit applies.
 */
export function inferBodyParsers(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error')
  const parse = (request: FastifyRequest, raw: Buffer, done: (error: Error | null, body?: unknown) => void) => {
    let json: string
    try {
      const split = splitBody(raw, request.headers[HEADER_LENGTH])
      json = split.json
      if (split.binary.length > 0) BINARY.set(request, split.binary)
    } catch (error) {
      done(error as Error)
      return
    }
    parseJson(request, json, done)
  }
  // some clients label a binary request application/json; the header length says it is JSON and then bytes
  app.addHook('preParsing', async (request, _reply, payload) => {
    const type = request.headers['content-type']
    if (request.headers[HEADER_LENGTH] !== undefined && type !== undefined && JSON_UTF8.test(type))
      request.headers['content-type'] = 'application/octet-stream'
    return payload
  })
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (request, body, done) =>
    parse(request, body as Buffer, done),
  )
  // '*' is Fastify's catch-all: it sees every type no other parser takes, so only a missing header gets through
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    const type = request.headers['content-type']
    if (type !== undefined) {
      done(
        new CarafeError(
          'UNSUPPORTED_MEDIA_TYPE',
          `Content-Type "${type}" is not accepted here: send application/json, or application/octet-stream with Inference-Header-Content-Length (the binary tensor extension)`,
        ),
      )
      return
    }
    parse(request, body as Buffer, done)
  })
}
