// The level queue and the group-commit writer: resume after reopen, chunk cleanup, empty/delete,
// deferred entries across restart, the durable-mode journal, the sync policy, metadata.

import t from 'tap'
import path from 'node:path'
import { Message, compactBody } from '../../nsqd/core/message.js'
import type { Store, StoreOp } from '../../nsqd/store/store.js'
import { decodeBytesRecord } from '../../nsqd/store/records.js'
import { decodeMetadata, encodeMetadata, loadMetadata, saveMetadata } from '../../nsqd/store/metadata.js'
import { captureLogger, keysWithPrefix, msgN, numberOf, openStore, take, tempDir, until } from '../helpers/store.js'

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i)

t.test('resumes mid-chunk after reopen, in order, and deletes consumed chunks', async (t) => {
  const loc = path.join(tempDir(t), 'db')
  let store = await openStore(loc, { maxChunkMessages: 100, readAheadMessages: 150 })
  let q = store.openQueue('orders')
  for (let i = 0; i < 1000; i++) q.put(msgN(i, 100))
  await q.whenCommitted()
  t.equal((await keysWithPrefix(store, 'q/orders/')).length, 10, '1000 messages packed into 10 chunks')
  t.same((await take(q, 250)).map(numberOf), range(0, 250))
  await store.close()

  store = await openStore(loc, { maxChunkMessages: 100, readAheadMessages: 150 })
  q = store.openQueue('orders')
  t.equal(q.depth(), 750, 'depth restored exactly')
  for (let i = 1000; i < 1100; i++) q.put(msgN(i, 100))
  const rest = await take(q)
  t.same(rest.map(numberOf), range(250, 1100), 'the rest, in arrival order')
  await q.whenCommitted()
  await until(() => q.depth() === 0)
  await store.sync()
  t.same(await keysWithPrefix(store, 'q/orders/'), [], 'consumed chunks deleted')
  await store.close()

  store = await openStore(loc)
  q = store.openQueue('orders')
  t.equal(q.depth(), 0, 'nothing left after a full drain and reopen')
  q.put(msgN(7))
  t.same((await take(q)).map(numberOf), [7], 'numbering continues after the drained range')
  await store.close()
})

t.test('body bytes of the unread messages: counted, persisted with the batch (b/<queue>), recounted for an older store', async (t) => {
  const loc = path.join(tempDir(t), 'db')
  let store = await openStore(loc, { maxChunkMessages: 10, readAheadMessages: 20 })
  let q = store.openQueue('sized')
  for (let i = 0; i < 50; i++) q.put(msgN(i, 100))
  t.equal(q.bytes(), 5000, 'counted on put')
  await q.whenCommitted()
  t.equal((await take(q, 5)).length, 5)
  t.equal(q.bytes(), 4500, 'and on read')
  await store.close()

  store = await openStore(loc, { maxChunkMessages: 10, readAheadMessages: 20 })
  q = store.openQueue('sized')
  t.same([q.depth(), q.bytes()], [45, 4500], 'restored with the read position')
  await store.close()

  // a store written before byte counts were kept: the count is rebuilt from the chunks at open
  store = await openStore(loc)
  await store.db.del('b/sized')
  await store.close()
  const logger = captureLogger()
  store = await openStore(loc, { logger })
  q = store.openQueue('sized')
  t.same([q.depth(), q.bytes()], [45, 4500], 'recounted')
  t.match(logger.lines.join('\n'), /DISKQUEUE\(sized\): counted 4500 bytes in 45 stored messages/)
  q.empty()
  t.equal(q.bytes(), 0, 'empty() clears it')
  await store.close()
  store = await openStore(loc)
  t.equal(store.openQueue('sized').bytes(), 0)
  await store.close()
})

t.test('empty and delete remove the data on disk', async (t) => {
  const loc = path.join(tempDir(t), 'db')
  const store = await openStore(loc, { maxChunkMessages: 10 })
  t.teardown(async () => { await store.close() })
  const a = store.openQueue('a')
  const b = store.openQueue('a:ch')
  const keep = store.openQueue('ab')
  for (let i = 0; i < 100; i++) { a.put(msgN(i)); b.put(msgN(i)); keep.put(msgN(i)) }
  b.putDeferred(msgN(1000), Date.now() + 60_000)
  await a.whenCommitted()
  a.empty()
  t.equal(a.depth(), 0)
  await a.whenCommitted()
  t.same(await keysWithPrefix(store, 'q/a/'), [], 'emptied topic has no chunks')
  await b.delete()
  t.same(await keysWithPrefix(store, 'q/a:ch/'), [], 'deleted channel has no chunks')
  t.same(await keysWithPrefix(store, 'd/a:ch/'), [], 'nor deferred entries')
  t.same(await keysWithPrefix(store, 'r/a:ch'), [], 'nor a read position')
  t.equal((await keysWithPrefix(store, 'q/ab/')).length, 10, 'a neighbour with a longer name is untouched')
  // a queue re-created under the deleted name starts empty
  const again = store.openQueue('a:ch')
  t.equal(again.depth(), 0)
  again.put(msgN(5))
  t.same((await take(again)).map(numberOf), [5])
})

t.test('deferred messages survive a restart with their due time', async (t) => {
  const loc = path.join(tempDir(t), 'db')
  let store = await openStore(loc)
  let q = store.openQueue('t:c')
  const due = Date.now() + 30_000
  const m = new Message('0000000000000abc', Buffer.from('later'), 123 * 256, 3)
  t.ok(q.putDeferred(m, due))
  await q.close()
  await store.close()

  store = await openStore(loc)
  q = store.openQueue('t:c')
  const restored = q.takeDeferred()
  t.equal(restored.length, 1)
  t.equal(restored[0].dueMs, due, 'due time kept')
  t.equal(restored[0].msg.id, m.id)
  t.equal(restored[0].msg.attempts, 3, 'attempts kept')
  t.equal(restored[0].msg.body.toString(), 'later')
  t.same(q.takeDeferred(), [], 'handed over once')
  await q.whenCommitted()
  t.same(await keysWithPrefix(store, 'd/t:c/'), [], 'default mode: removed from disk once handed to the channel')
  await store.close()
})

t.test('publish-only batches leave b/<queue> alone: a crash recounts only the chunks published since, a clean close writes it', async (t) => {
  const loc = path.join(tempDir(t), 'db')
  const opts = { maxChunkMessages: 10, readAheadMessages: 20, bytesRecordEvery: 10_000 }
  const record = async (s: Store): Promise<Buffer | undefined> => await s.db.get('b/p')
  let store = await openStore(loc, opts)
  let q = store.openQueue('p')
  for (let i = 0; i < 30; i++) q.put(msgN(i, 100))
  await q.whenCommitted()
  t.equal(await record(store), undefined, 'publishing alone writes no byte record')
  t.equal((await take(q, 5)).length, 5)
  await q.whenCommitted()
  const afterRead = await record(store)
  t.same(decodeBytesRecord(afterRead as Buffer), { bytes: 2500, atWriteSeq: 30, counters: [] }, 'a read writes it, at the write position it counted to')
  for (let i = 30; i < 50; i++) q.put(msgN(i, 50))
  await q.whenCommitted()
  t.same(await record(store), afterRead, 'more publishing leaves it as it was')
  // a crash: no close of the queue
  await store.db.close()

  let logger = captureLogger()
  store = await openStore(loc, { ...opts, logger })
  q = store.openQueue('p')
  t.same([q.depth(), q.bytes()], [45, 3500], 'restored exactly: the record plus the chunks published after it')
  t.notMatch(logger.lines.join('\n'), /counted/, 'without a full recount')
  // past bytesRecordEvery, publishing rewrites it, so a crash never recounts more than that
  for (let i = 50; i < 150; i++) q.put(msgN(i, 200))
  await q.whenCommitted()
  const rec = decodeBytesRecord(await record(store) as Buffer)
  t.ok(rec !== undefined && rec.atWriteSeq !== undefined && rec.atWriteSeq > 100 && rec.bytes === 3500 + 200 * (rec.atWriteSeq - 50), `rewritten after 10,000 bytes (${JSON.stringify(rec)})`)
  await store.db.close()

  store = await openStore(loc, opts)
  q = store.openQueue('p')
  t.same([q.depth(), q.bytes()], [145, 23500], 'restored exactly again')
  await store.close()
  store = await openStore(loc, opts)
  t.same(decodeBytesRecord(await record(store) as Buffer), { bytes: 23500, atWriteSeq: 150, counters: [] }, 'a clean close writes the record at the last write position')
  await store.close()

  // a record in the first format (bytes, then counters) is exact at the stored write position
  store = await openStore(loc, opts)
  const old = Buffer.alloc(16)
  old.writeDoubleBE(23500, 0)
  old.writeDoubleBE(3, 8)
  await store.db.put('b/p', old)
  await store.db.close()
  logger = captureLogger()
  store = await openStore(loc, { ...opts, logger })
  q = store.openQueue('p')
  t.same([q.depth(), q.bytes(), q.restoredCounters()], [145, 23500, [3]], 'the first format still reads')
  t.notMatch(logger.lines.join('\n'), /counted/)
  await store.close()
})

t.test('durable mode journals in-flight and deferred messages', async (t) => {
  const loc = path.join(tempDir(t), 'db')
  const syncs: boolean[] = []
  let store = await openStore(loc, { syncEvery: 1, writeBatch: async (ops, sync, write) => { syncs.push(sync); await write(ops, sync) } })
  t.ok(store.durable)
  let q = store.openQueue('t:c')
  t.ok(q.journaling)
  for (let i = 0; i < 5; i++) q.put(msgN(i))
  const msgs = await take(q, 5)
  for (const m of msgs) q.markInFlight(m)
  q.markDone(msgs[0]) // FIN
  q.markDone(msgs[1])
  q.markDone(msgs[2]) // REQ with a delay
  q.markDeferred(msgs[2], Date.now() + 60_000)
  await q.whenCommitted()
  t.ok(syncs.length > 0 && syncs.every(s => s), 'every batch synced')
  t.equal(q.depth(), 0)
  // a crash: no close of the queue, nothing flushed beyond what was committed
  await store.db.close()

  store = await openStore(loc, { syncEvery: 1 })
  q = store.openQueue('t:c')
  t.equal(q.depth(), 2, 'the two un-FINed messages are back in the queue')
  t.same((await take(q)).map(numberOf).sort(), [3, 4])
  const deferred = q.takeDeferred()
  t.same(deferred.map(d => numberOf(d.msg)), [2], 'the deferred one is restored')
  await q.whenCommitted()
  t.equal((await keysWithPrefix(store, 'd/t:c/')).length, 1, 'durable mode: kept on disk until it leaves the deferred queue')
  q.unmarkDeferred(deferred[0].msg)
  await q.whenCommitted()
  t.same(await keysWithPrefix(store, 'd/t:c/'), [])
  t.same(await keysWithPrefix(store, 'f/t:c/'), [], 'requeued journal entries removed')
  await store.close()
})

t.test('sync policy: --sync-every counts writes, --sync-timeout syncs idle writes', async (t) => {
  const batches: Array<{ n: number, sync: boolean }> = []
  const writeBatch = async (ops: StoreOp[], sync: boolean, write: (o: StoreOp[], s: boolean) => Promise<void>): Promise<void> => {
    batches.push({ n: ops.length, sync })
    await write(ops, sync)
  }
  // --sync-every alone (the timer off, so no tick can sync a batch in between)
  const store = await openStore(path.join(tempDir(t), 'db'), { syncEvery: 10, syncTimeoutMs: 0, writeBatch })
  t.teardown(async () => { await store.close() })
  const q = store.openQueue('t')
  for (let i = 0; i < 4; i++) q.put(msgN(i))
  await q.whenCommitted()
  t.equal(batches.at(-1)?.sync, false, '4 writes: no sync yet')
  for (let i = 0; i < 6; i++) q.put(msgN(i))
  await q.whenCommitted()
  t.equal(batches.at(-1)?.sync, true, '10 writes: this batch syncs')
  q.put(msgN(99))
  await q.whenCommitted()
  t.equal(batches.at(-1)?.sync, false, 'the next write is not synced by itself')

  // --sync-timeout: an unsynced write is synced by the timer, and an idle, synced store writes nothing
  const timed: Array<{ n: number, sync: boolean }> = []
  const store2 = await openStore(path.join(tempDir(t), 'db2'), {
    syncEvery: 1000,
    syncTimeoutMs: 30,
    writeBatch: async (ops, sync, write) => { timed.push({ n: ops.length, sync }); await write(ops, sync) }
  })
  t.teardown(async () => { await store2.close() })
  const q2 = store2.openQueue('t')
  q2.put(msgN(1))
  await q2.whenCommitted()
  await until(() => timed.some(b => b.sync), 2000, 'the sync-timeout batch')
  t.pass('an unsynced write is synced by the timer')
  const n = timed.length
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(timed.length, n, 'no sync batches while idle and synced')
})

t.test('many queues in one tick share one batch', async (t) => {
  const loc = path.join(tempDir(t), 'db')
  let batches = 0
  const store = await openStore(loc, { writeBatch: async (ops, sync, write) => { batches++; await write(ops, sync) } })
  t.teardown(async () => { await store.close() })
  const queues = range(0, 20).map(i => store.openQueue(`t${i}`))
  for (const q of queues) for (let i = 0; i < 50; i++) q.put(msgN(i))
  await store.whenCommitted()
  t.equal(batches, 1, '20 queues x 50 messages: one write')
})

t.test('read-ahead is bounded by body bytes as well as by message count', async (t) => {
  const loc = path.join(tempDir(t), 'db')
  let store = await openStore(loc, { maxChunkMessages: 10, maxChunkBytes: 64 * 1024 })
  let q = store.openQueue('big')
  for (let i = 0; i < 300; i++) q.put(msgN(i, 4096)) // 1.2 MB in 30 chunks
  await q.whenCommitted()
  await store.close()
  const bound = 100 * 1024
  store = await openStore(loc, { maxChunkMessages: 10, maxChunkBytes: 64 * 1024, readAheadMessages: 4000, readAheadBytes: bound })
  t.teardown(async () => { await store.close() })
  q = store.openQueue('big')
  const ahead = (): number => (q as unknown as { bufBytes: number }).bufBytes
  const first = await take(q, 1)
  await until(() => ahead() > 0)
  await new Promise((resolve) => setTimeout(resolve, 50)) // let a runaway refill show itself
  t.ok(ahead() <= bound + 10 * 4096, `read ahead ${ahead()} bytes (bound ${bound}, plus at most one chunk)`)
  const rest = await take(q)
  t.same([...first, ...rest].map(numberOf), range(0, 300), 'every message, in order')
})

t.test('compactBody: a small body alone in its buffer is copied into a shared slab, a body among many stays a view', async (t) => {
  // one command per socket read: Node gives each read its own exactly sized buffer
  const read = (text: string): Buffer => { const buf = Buffer.allocUnsafeSlow(text.length); buf.write(text, 'latin1'); return buf }
  const a = read('PUB t\n\x00\x00\x00\x05hello')
  const b = read('PUB t\n\x00\x00\x00\x05world')
  const ca = compactBody(a.subarray(10))
  const cb = compactBody(b.subarray(10))
  a.fill(0x78) // the reader reuses or overwrites its buffer
  b.fill(0x78)
  t.equal(ca.toString(), 'hello', 'the kept body does not change when the read buffer does')
  t.equal(cb.toString(), 'world')
  t.equal(ca.buffer, cb.buffer, 'small bodies share one slab')
  const mpub = Buffer.alloc(200 * 104)
  const view = mpub.subarray(8, 108)
  t.equal(compactBody(view), view, 'one of many bodies in a buffer is kept as a view')
  const large = Buffer.alloc(64 * 1024)
  t.equal(compactBody(large), large, 'a large body is kept as is')
})

t.test('metadata: msgpackr round trip, ephemeral skipped, orphans recovered', async (t) => {
  const meta = {
    topics: [
      { name: 'orders', paused: true, channels: [{ name: 'billing', paused: false }, { name: 'tail#ephemeral', paused: false }] },
      { name: 'tmp#ephemeral', paused: false, channels: [] }
    ]
  }
  t.same(decodeMetadata(encodeMetadata(meta)), { topics: [{ name: 'orders', paused: true, channels: [{ name: 'billing', paused: false }] }] })
  const log = captureLogger()
  t.equal(decodeMetadata(Buffer.from([0xc1, 0x00, 0x13]), log), undefined, 'damaged value')
  t.match(log.lines.join('\n'), /damaged/)

  const loc = path.join(tempDir(t), 'db')
  let store = await openStore(loc)
  await saveMetadata(store, meta)
  const orphan = store.openQueue('lost:found')
  orphan.put(msgN(1))
  await store.close()
  store = await openStore(loc, { logger: log })
  const loaded = loadMetadata(store)
  t.same(loaded.topics.map(x => [x.name, x.paused, x.channels.map(c => c.name)]), [
    ['orders', true, ['billing']],
    ['lost', false, ['found']]
  ])
  t.match(log.lines.join('\n'), /recovering channel lost:found/)
  await store.close()
})
