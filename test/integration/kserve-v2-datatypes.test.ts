import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { identityOnnx } from '../helpers/identity-onnx.js'
import { modelDir } from '../helpers/model-dir.js'
import { assertNoStack, get, post, startServer, type TestServer } from '../helpers/server.js'

// Each datatype: four values (two rows of two) and how the binary extension writes and reads one element, written
// here from the extension's text (little-endian, BOOL one byte, BYTES a 4-byte length then the bytes).
interface Kind {
  datatype: string
  values: unknown[]
  bytes: number
  write: (buffer: Buffer, value: any, offset: number) => void
  read: (buffer: Buffer, offset: number) => unknown
}
// FP16 bit patterns, worked out by hand: 1.5 = 0 01111 1000000000, -2 = 1 10000 0000000000, 0.5, 65504 (the largest)
const HALF: [number, number][] = [
  [1.5, 0x3e00],
  [-2, 0xc000],
  [0.5, 0x3800],
  [65504, 0x7bff],
]
const KINDS: Kind[] = [
  {
    datatype: 'BOOL',
    values: [true, false, false, true],
    bytes: 1,
    write: (b, v, o) => b.writeUInt8(v ? 1 : 0, o),
    read: (b, o) => b.readUInt8(o) === 1,
  },
  {
    datatype: 'UINT8',
    values: [0, 255, 7, 128],
    bytes: 1,
    write: (b, v, o) => b.writeUInt8(v, o),
    read: (b, o) => b.readUInt8(o),
  },
  {
    datatype: 'UINT16',
    values: [0, 65535, 1, 300],
    bytes: 2,
    write: (b, v, o) => b.writeUInt16LE(v, o),
    read: (b, o) => b.readUInt16LE(o),
  },
  {
    datatype: 'UINT32',
    values: [0, 4294967295, 1, 70000],
    bytes: 4,
    write: (b, v, o) => b.writeUInt32LE(v, o),
    read: (b, o) => b.readUInt32LE(o),
  },
  {
    datatype: 'UINT64',
    values: [0, 9007199254740991, 1, 5],
    bytes: 8,
    write: (b, v, o) => b.writeBigUInt64LE(BigInt(v), o),
    read: (b, o) => Number(b.readBigUInt64LE(o)),
  },
  {
    datatype: 'INT8',
    values: [-128, 127, 0, -1],
    bytes: 1,
    write: (b, v, o) => b.writeInt8(v, o),
    read: (b, o) => b.readInt8(o),
  },
  {
    datatype: 'INT16',
    values: [-32768, 32767, 0, -1],
    bytes: 2,
    write: (b, v, o) => b.writeInt16LE(v, o),
    read: (b, o) => b.readInt16LE(o),
  },
  {
    datatype: 'INT32',
    values: [-2147483648, 2147483647, 0, -1],
    bytes: 4,
    write: (b, v, o) => b.writeInt32LE(v, o),
    read: (b, o) => b.readInt32LE(o),
  },
  {
    datatype: 'INT64',
    values: [-9007199254740991, 9007199254740991, 0, -1],
    bytes: 8,
    write: (b, v, o) => b.writeBigInt64LE(BigInt(v), o),
    read: (b, o) => Number(b.readBigInt64LE(o)),
  },
  {
    datatype: 'FP16',
    values: HALF.map(([v]) => v),
    bytes: 2,
    write: (b, v, o) => b.writeUInt16LE(HALF.find(([x]) => x === v)![1], o),
    read: (b, o) => HALF.find(([, bits]) => bits === b.readUInt16LE(o))?.[0] ?? Number.NaN,
  },
  {
    datatype: 'FP32',
    values: [1.5, -2.25, 1024.125, -0.0078125],
    bytes: 4,
    write: (b, v, o) => b.writeFloatLE(v, o),
    read: (b, o) => b.readFloatLE(o),
  },
  {
    datatype: 'FP64',
    values: [0.1, -1e300, Math.PI, 2.5],
    bytes: 8,
    write: (b, v, o) => b.writeDoubleLE(v, o),
    read: (b, o) => b.readDoubleLE(o),
  },
  { datatype: 'BYTES', values: ['a', 'héllo', '', 'xyz'], bytes: 0, write: () => {}, read: () => undefined },
]
const name = (k: Kind) => k.datatype.toLowerCase()

function binaryOf(kind: Kind): Buffer {
  if (kind.datatype === 'BYTES') {
    return Buffer.concat(
      (kind.values as string[]).map((s) => {
        const bytes = Buffer.from(s, 'utf8')
        const length = Buffer.alloc(4)
        length.writeUInt32LE(bytes.length)
        return Buffer.concat([length, bytes])
      }),
    )
  }
  const out = Buffer.alloc(kind.values.length * kind.bytes)
  for (const [i, v] of kind.values.entries()) kind.write(out, v, i * kind.bytes)
  return out
}

function valuesOf(kind: Kind, part: Buffer): unknown[] {
  if (kind.datatype !== 'BYTES')
    return Array.from({ length: part.length / kind.bytes }, (_, i) => kind.read(part, i * kind.bytes))
  const out: string[] = []
  for (let o = 0; o < part.length; ) {
    const length = part.readUInt32LE(o)
    out.push(part.subarray(o + 4, o + 4 + length).toString('utf8'))
    o += 4 + length
  }
  return out
}

/** POST a body (Buffer) with headers; the answer's JSON header and binary part split by Inference-Header-Content-Length. */
async function postRaw(url: string, body: Buffer, headers: Record<string, string>) {
  const response = await fetch(url, { method: 'POST', headers, body: new Uint8Array(body) })
  const bytes = Buffer.from(await response.arrayBuffer())
  const headerLength = response.headers.get('inference-header-content-length')
  const jsonLength = headerLength === null ? bytes.length : Number(headerLength)
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    headerLength,
    json: JSON.parse(bytes.subarray(0, jsonLength).toString('utf8')),
    binary: bytes.subarray(jsonLength),
  }
}

/** A request built byte by byte as the extension describes: the JSON header, then each binary input's bytes in order. */
function binaryRequest(header: unknown, parts: Buffer[]): { body: Buffer; headers: Record<string, string> } {
  const json = Buffer.from(JSON.stringify(header), 'utf8')
  return {
    body: Buffer.concat([json, ...parts]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(json.length) },
  }
}

describe('KServe V2: every ONNX datatype, JSON and binary', () => {
  let server: TestServer
  let infer: string
  before(async () => {
    const dir = await modelDir({
      'types.onnx': identityOnnx(
        KINDS.map((k) => ({ name: name(k), datatype: k.datatype })),
        [2],
      ),
    })
    server = await startServer([join(dir, 'types.onnx')])
    infer = `${server.url}/v2/models/types/infer`
  })
  after(() => server?.close())

  it('model metadata declares every input and output with its V2 datatype', async () => {
    const { body } = await get(`${server.url}/v2/models/types`)
    assert.deepEqual(
      body.inputs,
      KINDS.map((k) => ({ name: `x_${name(k)}`, datatype: k.datatype, shape: [-1, 2] })),
    )
    assert.deepEqual(
      body.outputs,
      KINDS.map((k) => ({ name: `y_${name(k)}`, datatype: k.datatype, shape: [-1, 2] })),
    )
  })

  it('round-trips each datatype through the model as JSON, flat (row-major) or nested', async () => {
    for (const nested of [false, true]) {
      const inputs = KINDS.map((k) => ({
        name: `x_${name(k)}`,
        datatype: k.datatype,
        shape: [2, 2],
        data: nested ? [k.values.slice(0, 2), k.values.slice(2)] : k.values,
      }))
      const { status, body, text } = await post(infer, { inputs })
      assert.equal(status, 200, text)
      for (const k of KINDS) {
        const output = body.outputs.find((o: { name: string }) => o.name === `y_${name(k)}`)
        assert.deepEqual(
          output,
          { name: `y_${name(k)}`, datatype: k.datatype, shape: [2, 2], data: k.values },
          k.datatype,
        )
      }
    }
  })

  it('binary extension: every input as binary data, outputs as JSON', async () => {
    const inputs = KINDS.map((k) => ({
      name: `x_${name(k)}`,
      datatype: k.datatype,
      shape: [2, 2],
      parameters: { binary_data_size: binaryOf(k).length },
    }))
    const { body, headers } = binaryRequest({ inputs }, KINDS.map(binaryOf))
    const answer = await postRaw(infer, body, headers)
    assert.equal(answer.status, 200, JSON.stringify(answer.json))
    assert.equal(answer.headerLength, null, 'no binary output: a plain JSON answer')
    assert.match(answer.type ?? '', /application\/json/)
    for (const k of KINDS) {
      const output = answer.json.outputs.find((o: { name: string }) => o.name === `y_${name(k)}`)
      assert.deepEqual(output.data, k.values, k.datatype)
    }
  })

  it('binary extension: binary_data_output returns every output as bytes after the JSON; per-output binary_data overrides it', async () => {
    const half = KINDS.length >> 1
    const inputs = KINDS.map((k, i) =>
      // half the inputs binary, half JSON: the binary parts follow the order of the binary inputs alone
      i < half
        ? { name: `x_${name(k)}`, datatype: k.datatype, shape: [2, 2], data: k.values }
        : {
            name: `x_${name(k)}`,
            datatype: k.datatype,
            shape: [2, 2],
            parameters: { binary_data_size: binaryOf(k).length },
          },
    )
    const outputs = KINDS.map((k) => ({ name: `y_${name(k)}` })).reverse()
    outputs[0] = { ...outputs[0], parameters: { binary_data: false } } as (typeof outputs)[0]
    const { body, headers } = binaryRequest(
      { id: 'bin-1', inputs, outputs, parameters: { binary_data_output: true } },
      KINDS.slice(half).map(binaryOf),
    )
    const answer = await postRaw(infer, body, headers)
    assert.equal(answer.status, 200, JSON.stringify(answer.json))
    assert.equal(answer.type, 'application/octet-stream')
    assert.ok(answer.headerLength !== null)
    assert.equal(answer.json.id, 'bin-1')
    // outputs come in the requested order; binary ones carry binary_data_size and no data, their bytes in that order
    assert.deepEqual(
      answer.json.outputs.map((o: { name: string }) => o.name),
      outputs.map((o) => o.name),
    )
    let offset = 0
    for (const output of answer.json.outputs) {
      const kind = KINDS.find((k) => `y_${name(k)}` === output.name)!
      assert.deepEqual(output.shape, [2, 2])
      if (output.name === outputs[0].name) {
        assert.deepEqual(output.data, kind.values, 'binary_data: false keeps this output in JSON')
        assert.equal(output.parameters, undefined)
        continue
      }
      assert.equal(output.data, undefined)
      const size = output.parameters.binary_data_size
      assert.deepEqual(valuesOf(kind, answer.binary.subarray(offset, offset + size)), kind.values, kind.datatype)
      offset += size
    }
    assert.equal(offset, answer.binary.length, 'the binary part is exactly the binary outputs')
  })

  it('binary extension without a Content-Type (as tritonclient sends it)', async () => {
    const fp32 = KINDS.find((k) => k.datatype === 'FP32')!
    const inputs = KINDS.map((k) =>
      k === fp32
        ? { name: 'x_fp32', datatype: 'FP32', shape: [2, 2], parameters: { binary_data_size: 16 } }
        : { name: `x_${name(k)}`, datatype: k.datatype, shape: [2, 2], data: k.values },
    )
    const { body, headers } = binaryRequest(
      { inputs, outputs: [{ name: 'y_fp32', parameters: { binary_data: true } }] },
      [binaryOf(fp32)],
    )
    const answer = await postRaw(infer, body, {
      'inference-header-content-length': headers['inference-header-content-length'],
    })
    assert.equal(answer.status, 200, JSON.stringify(answer.json))
    assert.deepEqual(answer.json.outputs, [
      { name: 'y_fp32', datatype: 'FP32', shape: [2, 2], parameters: { binary_data_size: 16 } },
    ])
    assert.deepEqual(valuesOf(fp32, answer.binary), fp32.values)
  })

  it('binary extension labelled application/json: the header length marks JSON then bytes', async () => {
    const fp32 = KINDS.find((k) => k.datatype === 'FP32')!
    const inputs = KINDS.map((k) =>
      k === fp32
        ? { name: 'x_fp32', datatype: 'FP32', shape: [2, 2], parameters: { binary_data_size: 16 } }
        : { name: `x_${name(k)}`, datatype: k.datatype, shape: [2, 2], data: k.values },
    )
    const { body, headers } = binaryRequest({ inputs, outputs: [{ name: 'y_fp32' }] }, [binaryOf(fp32)])
    const answer = await postRaw(infer, body, { ...headers, 'content-type': 'application/json; charset=utf-8' })
    assert.equal(answer.status, 200, JSON.stringify(answer.json))
    assert.deepEqual(answer.json.outputs[0].data, fp32.values)
  })

  it('binary sizes that do not fit the shape, the body or the header are 400s naming the input', async () => {
    const others = KINDS.filter((k) => k.datatype !== 'FP32').map((k) => ({
      name: `x_${name(k)}`,
      datatype: k.datatype,
      shape: [2, 2],
      data: k.values,
    }))
    const fp32 = (size: number) => ({
      name: 'x_fp32',
      datatype: 'FP32',
      shape: [2, 2],
      parameters: { binary_data_size: size },
    })
    const cases: [string, Buffer, Record<string, string>, RegExp][] = []
    const add = (why: RegExp, header: unknown, parts: Buffer[], edit?: (h: Record<string, string>) => void) => {
      const { body, headers } = binaryRequest(header, parts)
      edit?.(headers)
      cases.push([String(why), body, headers, why])
    }
    add(/x_fp32.*binary_data_size is 12 bytes.*needs 16/, { inputs: [...others, fp32(12)] }, [Buffer.alloc(12)])
    add(/x_fp32.*runs past the end/, { inputs: [...others, fp32(16)] }, [Buffer.alloc(8)])
    add(/20 bytes of binary data.*add up to 16/, { inputs: [...others, fp32(16)] }, [Buffer.alloc(20)])
    add(/Inference-Header-Content-Length/, { inputs: [...others, fp32(16)] }, [Buffer.alloc(16)], (h) => {
      h['inference-header-content-length'] = '999999'
    })
    add(/x_fp32.*element 1 must be a number/, { inputs: [...others, fp32(16)] }, [
      Buffer.from(new Float32Array([1, Number.NaN, 2, 3]).buffer),
    ])
    const bytesInput = { name: 'x_bytes', datatype: 'BYTES', shape: [2, 2], parameters: { binary_data_size: 7 } }
    add(
      /x_bytes.*do not hold exactly 4 BYTES elements/,
      { inputs: [...others.filter((o) => o.name !== 'x_bytes'), { ...fp32(16) }, bytesInput] },
      [Buffer.alloc(16), Buffer.from([1, 0, 0, 0, 65, 9, 9])],
    )
    for (const [why, body, headers, pattern] of cases) {
      const answer = await postRaw(infer, body, headers)
      assert.equal(answer.status, 400, `${why}: ${JSON.stringify(answer.json)}`)
      assert.equal(answer.json.code, 'INVALID_INPUT')
      assert.match(answer.json.error, pattern)
      assertNoStack(JSON.stringify(answer.json))
    }
  })

  it('an element that is not of its datatype is 400 naming the input and the element index', async () => {
    const valid = Object.fromEntries(KINDS.map((k) => [k.datatype, k.values]))
    const bad: [string, unknown, RegExp][] = [
      ['BOOL', 1, /must be true or false/],
      ['UINT8', 256, /out of range \[0, 255\]/],
      ['UINT8', -1, /out of range/],
      ['INT8', 1.5, /must be an integer/],
      ['INT16', 40000, /out of range/],
      ['UINT32', 2 ** 32, /out of range/],
      ['INT32', '7', /must be an integer/],
      ['FP16', 70000, /out of range for FP16/],
      ['FP32', 3.5e39, /out of range for FP32/],
      ['FP32', 'x', /must be a number/],
      ['FP64', null, /must be a number/],
      ['BYTES', 7, /must be a string/],
    ]
    for (const [datatype, value, why] of bad) {
      const inputs = KINDS.map((k) => ({
        name: `x_${name(k)}`,
        datatype: k.datatype,
        shape: [2, 2],
        data: k.datatype === datatype ? [...valid[datatype].slice(0, 2), value, valid[datatype][3]] : k.values,
      }))
      const { status, body, text } = await post(infer, { inputs })
      assert.equal(status, 400, `${datatype} ${String(value)}: ${text}`)
      assert.equal(body.code, 'INVALID_INPUT')
      assert.match(body.error, new RegExp(`^input "x_${datatype.toLowerCase()}": element 2 `), text)
      assert.match(body.error, why, text)
      assert.equal(body.details[0].element, 2)
    }
  })
})
