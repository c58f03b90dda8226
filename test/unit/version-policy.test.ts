import assert from 'node:assert/strict'
import { test } from 'node:test'
import { selectVersions } from '../../src/model/index.js'

test('versionPolicy picks the versions served, highest first', () => {
  const available = ['1', '10', '2', '3']
  assert.deepEqual(selectVersions(available), ['10'])
  assert.deepEqual(selectVersions(available, 'latest'), ['10'])
  assert.deepEqual(selectVersions(available, { latest: 2 }), ['10', '3'])
  assert.deepEqual(selectVersions(available, { latest: 9 }), ['10', '3', '2', '1'])
  assert.deepEqual(selectVersions(available, { specific: [1, 3, 7] }), ['3', '1'])
  assert.deepEqual(selectVersions([], 'latest'), [])
})
