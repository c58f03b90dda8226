import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FinalRecords } from '../../src/jobs/redis-finals.js'
import type { JobRecord } from '../../src/jobs/store.js'

const parse = (stored: string) => JSON.parse(stored) as JobRecord
const stored = (id: string, extra = '') =>
  JSON.stringify({ id, model: 'm', status: 'succeeded', instances: [], progress: 1, attempts: 1, extra })

test('a final record is answered until the moment its Redis key expires, never after', () => {
  const finals = new FinalRecords()
  finals.add('a', stored('a'), 1000, parse)
  assert.equal(finals.get('a', 999)?.status, 'succeeded')
  assert.equal(finals.get('a', 1000), undefined)
  assert.equal(finals.get('a', 0), undefined, 'an expired record is dropped, not kept for later')
})

test('the oldest records go first when the count or the size bound is reached', () => {
  const byCount = new FinalRecords(2, 1 << 20)
  for (const id of ['a', 'b', 'c']) byCount.add(id, stored(id), Number.MAX_SAFE_INTEGER, parse)
  assert.deepEqual(
    ['a', 'b', 'c'].map((id) => byCount.get(id, 0)?.id),
    [undefined, 'b', 'c'],
  )
  const one = stored('x', 'y'.repeat(100)).length
  const bySize = new FinalRecords(100, one * 2)
  for (const id of ['x', 'y', 'z']) bySize.add(id, stored(id, 'y'.repeat(100)), Number.MAX_SAFE_INTEGER, parse)
  assert.equal(bySize.size, 2)
  assert.equal(bySize.get('x', 0), undefined)
  const huge = new FinalRecords(100, 10)
  huge.add('h', stored('h'), Number.MAX_SAFE_INTEGER, parse)
  assert.equal(huge.size, 0, 'a record larger than the whole bound is not kept')
})

test('a caller changing the record it got does not change the copy', () => {
  const finals = new FinalRecords()
  finals.add('a', stored('a'), Number.MAX_SAFE_INTEGER, parse)
  const got = finals.get('a', 0)!
  got.status = 'canceled'
  assert.equal(finals.get('a', 0)?.status, 'succeeded')
})
