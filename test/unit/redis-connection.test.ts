import assert from 'node:assert/strict'
import { test } from 'node:test'
import { idempotentJobId, isConnectionError, producerOptions, workerOptions } from '../../src/jobs/redis-connection.js'

test('an idempotent job id is a UUID, the same for the same key and model, another for another', () => {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
  const id = idempotentJobId('iris:order-17')
  assert.match(id, uuid)
  assert.equal(idempotentJobId('iris:order-17'), id)
  assert.notEqual(idempotentJobId('mlp:order-17'), id)
  for (let i = 0; i < 200; i++) assert.match(idempotentJobId(`m:${i}`), uuid)
})

test('producers fail fast, workers wait: the options BullMQ advises for each side', () => {
  const producer = producerOptions('redis://user:p%40ss@10.0.0.5:6380/2')
  assert.equal(producer.enableOfflineQueue, false)
  assert.equal(producer.autoResendUnfulfilledCommands, false)
  assert.equal(producer.maxRetriesPerRequest, 1)
  assert.ok(producer.commandTimeout! > 0)
  assert.deepEqual(
    [producer.host, producer.port, producer.db, producer.username, producer.password],
    ['10.0.0.5', 6380, 2, 'user', 'p@ss'],
  )
  const worker = workerOptions('redis://127.0.0.1')
  assert.equal(worker.maxRetriesPerRequest, null)
  assert.equal(worker.enableOfflineQueue, undefined)
  assert.equal(worker.port, 6379)
})

test('connection errors are told from command errors', () => {
  assert.ok(isConnectionError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })))
  assert.ok(isConnectionError(new Error("Stream isn't writeable and enableOfflineQueue options is false")))
  assert.ok(
    isConnectionError(
      Object.assign(new Error('Reached the max retries per request limit'), { name: 'MaxRetriesPerRequestError' }),
    ),
  )
  assert.ok(isConnectionError(new Error('Command timed out')))
  assert.ok(!isConnectionError(new Error("ERR invalid expire time in 'set' command")))
  assert.ok(!isConnectionError(new TypeError('Do not know how to serialize a BigInt')))
})
