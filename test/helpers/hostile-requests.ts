/** Seeded generator of malformed HTTP/1.1 requests for the hostile-input test. */
import { mulberry32 } from '../../examples/prng.js'

/** `json`: our envelope is required; `parser`: Node's HTTP parser may answer a bare 4xx or close. */
export interface HostileRequest {
  kind: string
  expect: 'json' | 'parser'
  bytes: Buffer
}

const PREDICT_PATHS = ['/v1/models/iris:predict', '/v2/models/iris/infer']
const ANY_PATHS = [...PREDICT_PATHS, '/v1/models/iris/jobs', '/v1/models/iris:annotate', '/v1/models/nope:predict']
const BAD_NAMES = [
  '/v1/models/..%2f..%2fetc%2fpasswd:predict',
  '/v1/models/%00:predict',
  `/v1/models/${'a'.repeat(5000)}:predict`,
  '/v1/models/../../etc/passwd:predict',
  '/v1/models/%ff%fe:predict',
  '/v1/models/iris%2f..%2f..:predict',
  '/v2/models/..%2f..%2fetc/infer',
]
const CONTENT_TYPES = [
  'text/plain',
  'application/xml',
  'multipart/form-data',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  'application/octet-stream',
  'image/png',
  '',
  'application/jsonx',
]

/** Made one at a time, so the test holds no thousands of buffers while it measures memory. */
export function* hostileRequests(seed: number, count: number, bodyLimit: number): Generator<HostileRequest> {
  const random = mulberry32(seed) // seeded, so a failing run can be replayed
  const int = (n: number) => Math.floor(random() * n)
  const pick = <T>(list: readonly T[]): T => list[int(list.length)]
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)))
  const valid = '{"instances":[[5.1,3.5,1.4,0.2]]}'
  const request = (
    method: string,
    path: string,
    body: Buffer | string = '',
    type = 'application/json',
    extra = '',
  ): Buffer => {
    const data = Buffer.isBuffer(body) ? body : Buffer.from(body)
    const head = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${type ? `Content-Type: ${type}\r\n` : ''}Content-Length: ${data.length}\r\n${extra}\r\n`
    return Buffer.concat([Buffer.from(head), data])
  }
  const makers: Record<string, () => HostileRequest> = {
    randomBytes: () => ({
      kind: 'randomBytes',
      expect: 'json',
      bytes: request('POST', pick(ANY_PATHS), bytes(1 + int(2000))),
    }),
    truncatedJson: () => ({
      kind: 'truncatedJson',
      expect: 'json',
      bytes: request('POST', pick(ANY_PATHS), valid.slice(0, int(valid.length - 1))),
    }),
    deepArray: () => ({
      kind: 'deepArray',
      expect: 'json',
      bytes: request('POST', pick(ANY_PATHS), `{"instances":${'['.repeat(10_000)}${']'.repeat(10_000)}}`),
    }),
    deepObject: () => ({
      kind: 'deepObject',
      expect: 'json',
      bytes: request('POST', pick(ANY_PATHS), `{"instances":[${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}]}`),
    }),
    hugeNumber: () => ({
      kind: 'hugeNumber',
      expect: 'json',
      bytes: request(
        'POST',
        pick(PREDICT_PATHS),
        pick([
          '{"instances":[[1e400,3.5,1.4,0.2]]}',
          `{"instances":[[${'9'.repeat(400)},3.5,1.4,0.2]]}`,
          '{"instances":[[-1e400,1,1,1]]}',
          `{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[1e400,1,1,1]}]}`,
          `{"instances":[[1,1,1,${'9'.repeat(400)}]]}`,
        ]),
      ),
    }),
    wrongType: () => ({
      kind: 'wrongType',
      expect: 'json',
      bytes: request('POST', pick(ANY_PATHS), valid, pick(CONTENT_TYPES)),
    }),
    invalidUtf8: () => ({
      kind: 'invalidUtf8',
      expect: 'json',
      bytes: request(
        'POST',
        pick(ANY_PATHS),
        Buffer.concat([
          Buffer.from('{"instances":[["'),
          Buffer.from([0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80]),
          Buffer.from('"]]}'),
        ]),
      ),
    }),
    oversizedHeader: () => ({
      kind: 'oversizedHeader',
      expect: 'parser',
      bytes: request(
        'POST',
        pick(ANY_PATHS),
        valid,
        'application/json',
        `X-Big: ${'b'.repeat(17_000 + int(10_000))}\r\n`,
      ),
    }),
    oversizedBody: () => ({
      kind: 'oversizedBody',
      expect: 'json',
      bytes: request('POST', pick(ANY_PATHS), `{"instances":[${'1,'.repeat(Math.ceil(bodyLimit / 2) + int(1000))}1]}`),
    }),
    badName: () => ({ kind: 'badName', expect: 'json', bytes: request(pick(['POST', 'GET']), pick(BAD_NAMES), valid) }),
    badMethod: () => ({
      kind: 'badMethod',
      expect: 'json',
      bytes: request(pick(['DELETE', 'PUT', 'PATCH', 'GET', 'OPTIONS']), pick(PREDICT_PATHS), valid),
    }),
    unknownMethod: () => ({
      kind: 'unknownMethod',
      expect: 'parser',
      bytes: request(pick(['FOO', 'BREW', 'G3T', 'post']), pick(ANY_PATHS), valid),
    }),
    garbageLine: () => ({
      kind: 'garbageLine',
      expect: 'parser',
      bytes: Buffer.concat([
        pick([
          bytes(1 + int(200)),
          Buffer.from('GET\r\n\r\n'),
          Buffer.from('POST /v1 HTTP/9.9\r\n\r\n'),
          Buffer.from('GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'),
          Buffer.from(
            'POST /v1/models/iris:predict HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\nzz\r\n',
          ),
        ]),
      ]),
    }),
  }
  const kinds = Object.keys(makers)
  for (let i = 0; i < count; i++) yield makers[kinds[i % kinds.length]]()
}

/**
 * A multipart form of `fields` text fields of `fieldBytes` each, sent chunked (no Content-Length) and left unfinished
 * when `unfinished`: the server must answer on its own once the total passes its bodyLimit.
 */
export function multipartFlood(path: string, fields: number, fieldBytes: number, unfinished = true): Buffer {
  const boundary = 'carafe-hostile-boundary'
  const field = (i: number) =>
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\n${'7'.repeat(fieldBytes)}\r\n`,
      'latin1',
    )
  const body = Buffer.concat([
    ...Array.from({ length: fields }, (_, i) => field(i)),
    Buffer.from(unfinished ? '' : `--${boundary}--\r\n`),
  ])
  const chunk = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n')])
  const head = Buffer.from(
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nTransfer-Encoding: chunked\r\n\r\n`,
  )
  return Buffer.concat([head, chunk, Buffer.from(unfinished ? '' : '0\r\n\r\n')])
}

/** One request of a hostile class: sent with fetch, its status checked by the suite (never a 5xx). */
export interface HostileCall {
  kind: string
  method: 'GET' | 'POST'
  path: string
  body?: string
  headers?: Record<string, string>
}

/** Arrays and objects nested far past the JSON depth limit, on every route that takes a JSON body. */
export function depthBombs(model: string, depth = 100_000): HostileCall[] {
  const array = `${'['.repeat(depth)}${']'.repeat(depth)}`
  const object = `${'{"a":'.repeat(Math.min(depth, 20_000))}1${'}'.repeat(Math.min(depth, 20_000))}`
  const routes: [string, (inner: string) => string][] = [
    [`/v1/models/${model}:predict`, (inner) => `{"instances":[${inner}]}`],
    ['/predict', (inner) => `{"instances":[${inner}]}`],
    [`/v1/models/${model}/jobs`, (inner) => `{"instances":[${inner}]}`],
    [`/v1/models/${model}:annotate`, (inner) => `{"requests":[{"image":{"content":"x"},"features":[${inner}]}]}`],
    [
      `/v2/models/${model}/infer`,
      (inner) => `{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":${inner}}]}`,
    ],
    [`/v2/models/${model}/versions/1/infer`, (inner) => `{"inputs":[],"parameters":${inner}}`],
  ]
  return routes.flatMap(([path, wrap]) =>
    [array, object].map((inner) => ({
      kind: 'depthBomb',
      method: 'POST' as const,
      path,
      body: wrap(inner),
      headers: { 'content-type': 'application/json' },
    })),
  )
}

/** Requests naming models that do not exist, on every route that takes a name (open ones and keyed ones). */
export function unknownNames(count: number, seed = 0): HostileCall[] {
  const calls: HostileCall[] = []
  const paths = [
    (name: string) => ({ method: 'GET' as const, path: `/ui/models/${name}` }),
    (name: string) => ({ method: 'GET' as const, path: `/v1/models/${name}` }),
    (name: string) => ({
      method: 'POST' as const,
      path: `/v1/models/${name}:predict`,
      body: '{"instances":[[1,1,1,1]]}',
      headers: { 'content-type': 'application/json' },
    }),
    (name: string) => ({ method: 'GET' as const, path: `/v2/models/${name}/ready` }),
  ]
  for (let i = 0; i < count; i++) calls.push({ kind: 'unknownName', ...paths[i % paths.length](`nope-${seed}-${i}`) })
  return calls
}
