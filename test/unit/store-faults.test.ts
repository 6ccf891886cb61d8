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

/** The before-repair copies beside `loc`. */
function keptCopies (loc: string): string[] {
  return fs.readdirSync(path.dirname(loc)).filter(f => f.startsWith(path.basename(loc) + '.before-repair-')).map(f => path.join(path.dirname(loc), f))
}

/** A store with messages 0..99 of queue t in a table (reopened once, so LevelDB wrote its log out). */
async function filledStore (loc: string): Promise<void> {
  let store = await openStore(loc)
  const q = store.openQueue('t')
  for (let i = 0; i < 100; i++) q.put(msgN(i, 100))
  await store.close()
  store = await openStore(loc)
  await store.close()
}

t.test('a damaged store directory is repaired at open, after a copy of it was kept', async (t) => {
  const loc = path.join(tempDir(t), 'db')
  await filledStore(loc)
  // CURRENT names a manifest that is gone: LevelDB refuses to open until repaired
  fs.writeFileSync(path.join(loc, 'CURRENT'), 'MANIFEST-999999\n')
  const original = new Map(fs.readdirSync(loc).map(f => [f, fs.readFileSync(path.join(loc, f))]))
  const log = captureLogger()
  const store = await openStore(loc, { logger: log })
  const text = log.lines.join('\n')
  const copies = keptCopies(loc)
  t.equal(copies.length, 1, 'one before-repair copy beside the store')
  t.match(path.basename(copies[0]), /^db\.before-repair-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z$/, 'named with the UTC time')
  for (const [f, bytes] of original) {
    if (f === 'LOCK' || f.startsWith('LOG')) continue // LevelDB's lock and info log: every open rewrites them
    t.same(fs.readFileSync(path.join(copies[0], f)), bytes, `the copy holds the original ${f}`)
  }
  t.match(text, `kept a copy of it (${original.size} files`, 'the log says what was kept')
  t.match(text, `at ${copies[0]}; attempting repair`, 'and where')
  t.match(text, `repaired ${loc}; what could not be read was dropped; the store as it was before the repair is kept at ${copies[0]}`)
  const got = await take(store.openQueue('t'))
  t.same(got.map(numberOf), range(0, 100), 'everything readable is recovered')
  await store.close()
})

t.test('a manifest LevelDB reports as corrupt is repaired, the original kept', async (t) => {
  const loc = path.join(tempDir(t), 'db')
  await filledStore(loc)
  const manifest = fs.readdirSync(loc).find(f => f.startsWith('MANIFEST-'))!
  const bytes = fs.readFileSync(path.join(loc, manifest))
  bytes.fill(0x41, 0, Math.min(bytes.length, 30))
  fs.writeFileSync(path.join(loc, manifest), bytes)
  const log = captureLogger()
  const store = await openStore(loc, { logger: log })
  t.match(log.lines.join('\n'), /is damaged - Corruption: .*; kept a copy of it/, 'classic-level reports corruption: repaired')
  const copies = keptCopies(loc)
  t.equal(copies.length, 1)
  t.same(fs.readFileSync(path.join(copies[0], manifest)), bytes, 'the damaged manifest is kept as it was')
  t.same((await take(store.openQueue('t'))).map(numberOf), range(0, 100), 'the tables are read back')
  await store.close()
})

t.test('a table found damaged while loading is repaired, the original kept', async (t) => {
  const loc = path.join(tempDir(t), 'db')
  await filledStore(loc)
  const table = fs.readdirSync(loc).find(f => f.endsWith('.ldb'))!
  const bytes = fs.readFileSync(path.join(loc, table))
  bytes.fill(0x41, 10, 200)
  fs.writeFileSync(path.join(loc, table), bytes)
  const log = captureLogger()
  const store = await openStore(loc, { logger: log })
  t.match(log.lines.join('\n'), /is damaged - Corruption: .*; kept a copy of it/)
  const copies = keptCopies(loc)
  t.equal(copies.length, 1)
  t.same(fs.readFileSync(path.join(copies[0], table)), bytes, 'the damaged table is kept as it was')
  await store.close()
})

t.test('an I/O error at open changes nothing and fails with one clear line', async (t) => {
  const dir = tempDir(t)
  const loc = path.join(dir, 'db')
  fs.writeFileSync(loc, 'not a database') // the store path is a file: LevelDB cannot create its directory
  let err: Error | undefined
  try { await openStore(loc, { logger: captureLogger() }) } catch (e) { err = e as Error }
  t.equal(err?.name, 'StoreOpenError')
  t.match(err?.message, `cannot open data store ${loc}: EEXIST`)
  t.match(err?.message, /; nothing was changed, fix the cause and start again$/)
  t.notMatch(err?.message, /\n/, 'one line')
  t.same(fs.readdirSync(dir), ['db'], 'nothing moved aside or copied')
  t.equal(fs.readFileSync(loc, 'utf8'), 'not a database', 'untouched')

  // an unwritable parent of the data path: mkdir fails (EEXIST/ENOTDIR) before LevelDB runs
  const under = path.join(loc, 'sub', 'db')
  err = undefined
  try { await openStore(under) } catch (e) { err = e as Error }
  t.equal(err?.name, 'StoreOpenError')
  t.match(err?.message, `cannot open data store ${under}: `)
})

t.test('a repair that fails on damage: moved aside, starts empty, the kept copy named', async (t) => {
  const dir = tempDir(t)
  const loc = path.join(dir, 'db')
  await filledStore(loc)
  fs.writeFileSync(path.join(loc, 'CURRENT'), 'garbage')
  const log = captureLogger()
  const failing = async (): Promise<void> => { throw Object.assign(new Error('Corruption: injected'), { code: 'LEVEL_CORRUPTION' }) }
  const store = await openStore(loc, { logger: log, repair: failing })
  const copies = keptCopies(loc)
  t.equal(copies.length, 1, 'a copy was kept first')
  t.equal(fs.readFileSync(path.join(copies[0], 'CURRENT'), 'utf8'), 'garbage')
  t.match(log.lines.join('\n'), new RegExp(`moving it to .*\\.bad-\\d+ and starting empty; the store as it was before the repair is kept at ${copies[0]}`))
  t.ok(fs.readdirSync(dir).some(f => f.startsWith('db.bad-')), 'old data kept for inspection')
  const q = store.openQueue('t')
  q.put(msgN(1))
  t.same((await take(q)).map(numberOf), [1])
  await store.close()
})

t.test('a repair that fails on an I/O error: start fails, the kept copy named, not moved aside', async (t) => {
  const dir = tempDir(t)
  const loc = path.join(dir, 'db')
  await filledStore(loc)
  fs.writeFileSync(path.join(loc, 'CURRENT'), 'garbage')
  const failing = async (): Promise<void> => { throw Object.assign(new Error('IO error: db/000009.ldb: No space left on device'), { code: 'LEVEL_IO_ERROR' }) }
  let err: Error | undefined
  try { await openStore(loc, { logger: captureLogger(), repair: failing }) } catch (e) { err = e as Error }
  const copies = keptCopies(loc)
  t.equal(copies.length, 1)
  t.match(err?.message, `repair of data store ${loc} failed: IO error: db/000009.ldb: No space left on device; the store as it was before the repair is kept at ${copies[0]}; free space and start again`)
  t.notOk(fs.readdirSync(dir).some(f => f.includes('.bad-')), 'not moved aside')
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
