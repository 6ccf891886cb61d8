// One contract for every BackendQueue (STYLE.md rule 29): the in-memory reference and the level
// queue must behave alike for FIFO order, exact depth and body bytes, empty, delete and close.

import t from 'tap'
import path from 'node:path'
import type { BackendQueue } from '../../nsqd/store/backend-queue.js'
import { MemoryBackendQueue } from '../../nsqd/store/memory-backend-queue.js'
import { keysWithPrefix, msgN, numberOf, openStore, take, tempDir } from '../helpers/store.js'

interface Subject {
  queue: BackendQueue
  /** Waits until everything put is stored (no-op in memory). */
  settle: () => Promise<void>
}

type Factory = (t: { teardown: (fn: () => unknown) => void }) => Promise<Subject>

function contract (name: string, make: Factory): void {
  t.test(`${name}: FIFO order and exact depth`, async (t) => {
    const { queue: q, settle } = await make(t)
    t.equal(q.depth(), 0)
    t.equal(q.shift(), undefined, 'empty queue gives nothing')
    let refused = 0
    for (let i = 0; i < 2500; i++) if (!q.put(msgN(i))) refused++
    t.equal(refused, 0, 'every put accepted')
    t.equal(q.depth(), 2500, 'depth counts every put at once')
    await settle()
    const first = await take(q, 1000)
    t.same(first.map(numberOf), Array.from({ length: 1000 }, (_, i) => i), 'first 1000 in order')
    t.equal(q.depth(), 1500)
    for (let i = 2500; i < 3000; i++) q.put(msgN(i))
    const rest = await take(q)
    t.same(rest.map(numberOf), Array.from({ length: 2000 }, (_, i) => i + 1000), 'the rest in order')
    t.equal(q.depth(), 0)
    const m = msgN(5, 300)
    q.put(m)
    const [back] = await take(q, 1)
    t.equal(back.id, m.id, 'id kept')
    t.same(back.body, m.body, 'body kept')
    t.equal(back.timestamp, m.timestamp, 'timestamp kept')
    t.equal(back.attempts, m.attempts, 'attempts kept')
  })

  t.test(`${name}: bytes() is the body bytes of what is stored and not taken`, async (t) => {
    const { queue: q, settle } = await make(t)
    t.equal(q.bytes(), 0)
    for (let i = 0; i < 30; i++) q.put(msgN(i, 100))
    t.equal(q.bytes(), 3000, 'counted at put')
    await settle()
    await take(q, 10)
    t.equal(q.bytes(), 2000, 'taken ones no longer count')
    q.empty()
    t.equal(q.bytes(), 0, 'empty() clears it')
    q.put(msgN(99, 50))
    t.equal(q.bytes(), 50)
  })

  t.test(`${name}: onReadable after shift() came back empty`, async (t) => {
    const { queue: q, settle } = await make(t)
    t.equal(q.shift(), undefined)
    let readable = 0
    q.onReadable = () => { readable++ }
    q.put(msgN(1))
    await settle()
    const got = q.shift() ?? (await take(q, 1))[0]
    t.equal(numberOf(got), 1)
    t.ok(readable <= 1, 'at most one notification per wait')
  })

  t.test(`${name}: empty drops everything, queue stays usable`, async (t) => {
    const { queue: q, settle } = await make(t)
    for (let i = 0; i < 100; i++) q.put(msgN(i))
    await settle()
    await take(q, 10)
    q.empty()
    t.equal(q.depth(), 0)
    t.equal(q.shift(), undefined)
    q.put(msgN(500))
    await settle()
    const got = await take(q)
    t.same(got.map(numberOf), [500], 'only what came after empty')
  })

  t.test(`${name}: delete and close refuse further puts`, async (t) => {
    const a = await make(t)
    a.queue.put(msgN(1))
    await a.queue.delete()
    t.equal(a.queue.put(msgN(2)), false, 'deleted')
    t.equal(a.queue.depth(), 0)
    const b = await make(t)
    b.queue.put(msgN(1))
    await b.queue.close()
    t.equal(b.queue.put(msgN(2)), false, 'closed')
  })

  t.test(`${name}: scan lists the queue in order and changes nothing; remove takes from the middle, order kept`, async (t) => {
    const { queue: q, settle } = await make(t)
    if (q.scan === undefined || q.remove === undefined) { t.fail('scan and remove are implemented'); return }
    for (let i = 0; i < 1000; i++) q.put(msgN(i))
    await settle()
    await take(q, 10)
    for (let i = 1000; i < 1020; i++) q.put(msgN(i)) // not written yet (level)
    const seen: Array<[number, number]> = []
    await q.scan((m, seq) => { seen.push([numberOf(m), seq]); return true })
    t.same(seen.map((x) => x[0]), Array.from({ length: 1010 }, (_, i) => i + 10), 'every queued message in delivery order (read-ahead, disk, unwritten)')
    const again: Array<[number, number]> = []
    await q.scan((m, seq) => { again.push([numberOf(m), seq]); return true })
    t.same(again, seen, 'a second scan sees the same')
    t.equal(q.depth(), 1010, 'depth unchanged by scanning')
    let stopped = 0
    await q.scan(() => ++stopped < 5)
    t.equal(stopped, 5, 'scan stops when the visitor says so')
    const at = (n: number): number => (seen.find((x) => x[0] === n) as [number, number])[1]
    for (const n of [11, 500, 1015]) t.equal(q.remove(msgN(n), at(n)), true, `removed ${n}`)
    t.equal(q.remove(msgN(500), at(500)), false, 'a second removal finds nothing')
    t.equal(q.depth(), 1007, 'depth counts the removals')
    const removedBytes = [11, 500, 1015].reduce((a, n) => a + msgN(n).body.length, 0)
    const allBytes = seen.reduce((a, x) => a + msgN(x[0]).body.length, 0)
    t.equal(q.bytes(), allBytes - removedBytes, 'bytes count the removals (bounded queues)')
    const rest = await take(q)
    t.same(rest.map(numberOf), Array.from({ length: 1010 }, (_, i) => i + 10).filter((n) => n !== 11 && n !== 500 && n !== 1015), 'the rest in order, without the removed ones')
    t.equal(q.remove(msgN(20), at(20)), false, 'a message already taken cannot be removed')
  })
}

contract('memory', async () => {
  return { queue: new MemoryBackendQueue(), settle: async () => {} }
})

let seq = 0
contract('level', async (t) => {
  const dir = tempDir(t)
  const store = await openStore(path.join(dir, 'db'), { readAheadMessages: 300, maxChunkMessages: 64 })
  t.teardown(async () => { await store.close() })
  const queue = store.openQueue(`topic${seq++}`)
  return { queue, settle: async () => { await queue.whenCommitted() } }
})

t.test('level: removals from the middle survive a reopen; their tombstones go once read past', async (t) => {
  const dir = tempDir(t)
  const where = path.join(dir, 'db')
  let store = await openStore(where, { readAheadMessages: 50, maxChunkMessages: 16 })
  let q = store.openQueue('dead')
  for (let i = 0; i < 200; i++) q.put(msgN(i))
  await q.whenCommitted()
  const seqs = new Map<number, number>()
  await q.scan((m, seq) => { seqs.set(numberOf(m), seq); return true })
  for (const n of [3, 120, 199]) t.equal(q.remove(msgN(n), seqs.get(n)!), true, `removed ${n}`)
  await q.whenCommitted()
  t.equal((await keysWithPrefix(store, 'x/dead/')).length, 3, 'three tombstones stored')
  await store.close()
  store = await openStore(where, { readAheadMessages: 50, maxChunkMessages: 16 })
  t.teardown(async () => { await store.close() })
  q = store.openQueue('dead')
  t.equal(q.depth(), 197, 'depth after reopen leaves the removed out')
  const got = await take(q)
  t.same(got.map(numberOf), Array.from({ length: 200 }, (_, i) => i).filter((n) => ![3, 120, 199].includes(n)), 'order kept, removed ones skipped')
  await q.whenCommitted()
  t.same(await keysWithPrefix(store, 'x/dead/'), [], 'tombstones deleted once the read position passed them')
})
