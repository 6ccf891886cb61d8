// One contract for every BackendQueue (STYLE.md rule 29): the in-memory reference and the level
// queue must behave alike for FIFO order, exact depth and body bytes, empty, delete and close.

import t from 'tap'
import path from 'node:path'
import type { BackendQueue } from '../../nsqd/store/backend-queue.js'
import { MemoryBackendQueue } from '../../nsqd/store/memory-backend-queue.js'
import { msgN, numberOf, openStore, take, tempDir } from '../helpers/store.js'

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
