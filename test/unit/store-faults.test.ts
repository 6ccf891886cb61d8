// Faults: failing writes (a full disk), damaged values, damaged or unreadable store directories.

import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { Level } from 'level'
import { chunkKey } from '../../nsqd/store/records.js'
import { captureLogger, keysWithPrefix, msgN, numberOf, openStore, take, tempDir, until } from '../helpers/store.js'

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i)

t.test('write failures: unhealthy, publishes refused, nothing accepted is lost, recovers', async (t) => {
  const loc = path.join(tempDir(t), 'db')
  let failing = false
  const health: boolean[] = []
  const log = captureLogger()
  let store = await openStore(loc, {
    retryMs: 20,
    logger: log,
    onHealth: (ok) => { health.push(ok) },
    writeBatch: async (ops, sync, write) => {
      if (failing) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
      await write(ops, sync)
    }
  })
  const topic = store.openQueue('t', { refuseWhenUnhealthy: true })
  const channel = store.openQueue('t:c')
  for (let i = 0; i < 10; i++) topic.put(msgN(i))
  await topic.whenCommitted()
  t.ok(store.healthy)

  failing = true
  let accepted = 0
  for (let i = 10; i < 20; i++) if (topic.put(msgN(i))) accepted++
  t.equal(accepted, 10, 'accepted before the failure is known')
  await t.rejects(topic.whenCommitted(), /ENOSPC/, 'waiters of the failed batch get the error')
  t.equal(store.healthy, false)
  t.match(store.lastError?.message, /ENOSPC/)
  t.same(health, [false])
  t.equal(topic.put(msgN(99)), false, 'a topic refuses publishes while writes fail')
  t.equal(channel.put(msgN(20)), true, 'a channel still takes already-acknowledged messages')
  t.match(log.lines.join('\n'), /failed to write batch - ENOSPC/)

  failing = false
  await until(() => store.healthy, 5000, 'recovery')
  t.same(health, [false, true], 'healthy again once space returns')
  t.equal(topic.put(msgN(20)), true)
  await store.whenCommitted()
  await store.close()

  store = await openStore(loc)
  const tq = store.openQueue('t')
  const cq = store.openQueue('t:c')
  t.same((await take(tq)).map(numberOf), range(0, 21), 'every accepted topic message is on disk, in order')
  t.same((await take(cq)).map(numberOf), [20])
  await store.close()
})

t.test('a damaged chunk is skipped and logged; the rest is delivered', async (t) => {
  const loc = path.join(tempDir(t), 'db')
  let store = await openStore(loc, { maxChunkMessages: 10 })
  let q = store.openQueue('t')
  for (let i = 0; i < 30; i++) q.put(msgN(i))
  await store.close()

  const raw = new Level<string, Buffer>(loc, { keyEncoding: 'utf8', valueEncoding: 'buffer' })
  await raw.put(chunkKey('t', 10), Buffer.from([1, 0, 0, 0, 10, 0xff, 0xff, 0, 0])) // claims 10, holds junk
  await raw.close()

  const log = captureLogger()
  store = await openStore(loc, { logger: log })
  q = store.openQueue('t')
  t.equal(q.depth(), 30)
  const got = await take(q)
  t.same(got.map(numberOf), [...range(0, 10), ...range(20, 30)], 'chunk 10..19 dropped, order kept')
  t.equal(q.depth(), 0)
  const text = log.lines.join('\n')
  t.match(text, /skipping damaged chunk q\/t\/000000000000000a/)
  t.match(text, /10 messages missing/)
  await q.whenCommitted()
  t.same(await keysWithPrefix(store, 'q/t/'), [], 'the damaged chunk is removed too')
  await store.close()
})

t.test('missing chunks at the end (truncated store) are skipped', async (t) => {
  const loc = path.join(tempDir(t), 'db')
  let store = await openStore(loc, { maxChunkMessages: 10 })
  let q = store.openQueue('t')
  for (let i = 0; i < 30; i++) q.put(msgN(i))
  await store.close()
  const raw = new Level<string, Buffer>(loc, { keyEncoding: 'utf8', valueEncoding: 'buffer' })
  await raw.del(chunkKey('t', 0))
  await raw.del(chunkKey('t', 10))
  await raw.close()
  const log = captureLogger()
  store = await openStore(loc, { logger: log })
  q = store.openQueue('t')
  t.same((await take(q)).map(numberOf), range(20, 30))
  t.match(log.lines.join('\n'), /20 messages missing/)
  await store.close()
})

t.test('a damaged store directory is repaired at open', async (t) => {
  const loc = path.join(tempDir(t), 'db')
  let store = await openStore(loc)
  const q = store.openQueue('t')
  for (let i = 0; i < 100; i++) q.put(msgN(i, 100))
  await store.close()
  // the manifest pointer is garbage: LevelDB refuses to open until repaired
  fs.writeFileSync(path.join(loc, 'CURRENT'), 'MANIFEST-999999\n')
  const log = captureLogger()
  store = await openStore(loc, { logger: log })
  t.match(log.lines.join('\n'), /attempting repair/)
  const got = await take(store.openQueue('t'))
  t.same(got.map(numberOf), range(0, 100), 'everything readable is recovered')
  await store.close()
})

t.test('an unrepairable store is moved aside and the node starts empty', async (t) => {
  const dir = tempDir(t)
  const loc = path.join(dir, 'db')
  fs.writeFileSync(loc, 'not a database')
  const log = captureLogger()
  const store = await openStore(loc, { logger: log })
  t.match(log.lines.join('\n'), /moving it to .*\.bad-\d+ and starting empty/)
  t.ok(fs.readdirSync(dir).some(f => f.startsWith('db.bad-')), 'old data kept for inspection')
  const q = store.openQueue('t')
  q.put(msgN(1))
  t.same((await take(q)).map(numberOf), [1])
  await store.close()
})

t.test('a store in use by another process is not touched', async (t) => {
  const loc = path.join(tempDir(t), 'db')
  const first = await openStore(loc)
  t.teardown(async () => { await first.close() })
  let code: string | undefined
  try {
    await openStore(loc)
  } catch (err) {
    const e = err as { code?: string, cause?: { code?: string } }
    code = e.cause?.code ?? e.code
  }
  t.equal(code, 'LEVEL_LOCKED', 'open fails with the lock error')
  t.notOk(fs.readdirSync(path.dirname(loc)).some(f => f.includes('.bad-')), 'not moved aside')
})
