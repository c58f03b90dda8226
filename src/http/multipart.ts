import multipart from '@fastify/multipart'
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { CarafeError } from '../errors.js'
import { IMAGE_LIMITS } from '../model/image.js'
import { nestsDeeperThan } from '../model/index.js'
import { tooDeep } from './json-body.js'

// A form is one instance: a handful of files and parameters, never thousands of parts.
const LIMITS = { files: 8, fields: 64, parts: 72, fieldSize: 1024 * 1024, fileSize: IMAGE_LIMITS.maxBytes }

/**
 * multipart/form-data on the predict routes: the form is one instance. File fields become base64
 * strings (what imageSchema() accepts); text fields are read as JSON when they parse ("0.3" → 0.3), else kept as text.
 */
export const multipartInstances = fp(
  async function multipartInstances(app: FastifyInstance): Promise<void> {
    await app.register(multipart, { limits: LIMITS })
    app.addHook('preValidation', async (request, reply) => {
      if (!request.isMultipart()) return
      try {
        request.body = { instances: [await formInstance(request)] }
      } catch (error) {
        // the rest of an oversized body is not read: close the connection after the answer (HTTP/1 only; HTTP/2
        // forbids the header, and the stream ends by itself)
        if ((error as CarafeError).code === 'PAYLOAD_TOO_LARGE' && request.raw.httpVersionMajor === 1)
          reply.header('connection', 'close')
        throw error
      }
    })
  },
  { name: 'carafe-multipart' },
)

/**
 * The whole form stays within the route's bodyLimit, as a JSON body does: refused from Content-Length before reading,
 * else counted while it streams and refused (413) the moment it passes the limit, without reading the rest.
 */
function totalLimit(request: FastifyRequest): Promise<never> {
  const limit = request.routeOptions.bodyLimit ?? request.server.initialConfig.bodyLimit ?? Number.POSITIVE_INFINITY
  const tooLarge = (size: string) =>
    new CarafeError('PAYLOAD_TOO_LARGE', `The form is ${size}; the limit is ${limit} bytes (bodyLimit)`, [{ limit }])
  const declared = Number(request.headers['content-length'])
  if (declared > limit) return Promise.reject(tooLarge(`${declared} bytes`))
  return new Promise<never>((_resolve, reject) => {
    let received = 0
    const count = (chunk: Buffer) => {
      received += chunk.length
      if (received <= limit) return
      request.raw.off('data', count)
      request.raw.unpipe()
      request.raw.pause()
      reject(tooLarge(`more than ${limit} bytes`))
    }
    request.raw.on('data', count)
    request.raw.once('end', () => request.raw.off('data', count))
  })
}

async function formInstance(request: FastifyRequest): Promise<Record<string, unknown>> {
  const instance: Record<string, unknown> = Object.create(null)
  const overLimit = totalLimit(request)
  overLimit.catch(() => undefined) // raced below; a form that ends in time never observes it
  const add = (key: string, value: unknown) => {
    if (!(key in instance)) instance[key] = value
    else
      instance[key] = Array.isArray(instance[key]) ? [...(instance[key] as unknown[]), value] : [instance[key], value]
  }
  try {
    const parts = request.parts({ limits: LIMITS })[Symbol.asyncIterator]()
    for (;;) {
      const next = await Promise.race([parts.next(), overLimit])
      if (next.done) break
      const part = next.value
      if (part.type === 'file')
        add(part.fieldname, (await Promise.race([part.toBuffer(), overLimit])).toString('base64'))
      else add(part.fieldname, fieldValue(part.value))
    }
  } catch (error) {
    if (error instanceof CarafeError) throw error
    const code = (error as { code?: string }).code
    if (code === 'FST_REQ_FILE_TOO_LARGE')
      throw new CarafeError('IMAGE_TOO_LARGE', `An uploaded file is larger than ${LIMITS.fileSize} bytes`, [
        { limit: LIMITS.fileSize },
      ])
    if (code === 'FST_PARTS_LIMIT' || code === 'FST_FILES_LIMIT' || code === 'FST_FIELDS_LIMIT') {
      throw new CarafeError(
        'PAYLOAD_TOO_LARGE',
        `The form has too many parts (at most ${LIMITS.files} files and ${LIMITS.fields} fields)`,
      )
    }
    throw new CarafeError('INVALID_INPUT', `The multipart form could not be read: ${(error as Error).message}`)
  }
  if (Object.keys(instance).length === 0)
    throw new CarafeError(
      'INVALID_INPUT',
      'The multipart form is empty; send the image as a file field (say "image") and parameters as text fields',
    )
  return { ...instance }
}

function fieldValue(value: unknown): unknown {
  if (typeof value !== 'string') return value
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    return value
  }
  // a text field is JSON too: the same depth limit as a JSON body
  if (nestsDeeperThan(parsed)) throw tooDeep()
  return parsed
}
