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
    app.addHook('preValidation', async (request) => {
      if (!request.isMultipart()) return
      request.body = { instances: [await formInstance(request)] }
    })
  },
  { name: 'carafe-multipart' },
)

async function formInstance(request: FastifyRequest): Promise<Record<string, unknown>> {
  const instance: Record<string, unknown> = Object.create(null)
  const add = (key: string, value: unknown) => {
    if (!(key in instance)) instance[key] = value
    else
      instance[key] = Array.isArray(instance[key]) ? [...(instance[key] as unknown[]), value] : [instance[key], value]
  }
  try {
    for await (const part of request.parts({ limits: LIMITS })) {
      if (part.type === 'file') add(part.fieldname, (await part.toBuffer()).toString('base64'))
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
