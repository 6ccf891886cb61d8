// nsqd as a real process on its store: SIGTERM flushes everything and exits 0, a restart delivers
// it all again (deferred messages keep the rest of their delay); in durable mode kill -9 during a
// publish stream loses no acknowledged message and redelivers every un-FINed one; kill -9 in the
// middle of a dead-letter replay moves every message exactly once.
// With --queue-full-policy=drop-oldest a kill -9 keeps exactly the newest --max-queue-messages.

import t from 'tap'
import path from 'node:path'
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { RawConn, tmpDir, until } from '../helpers/nsqd.js'
import * as cmd from '../../client/wire/commands.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

interface Proc { child: ChildProcess, tcp: string, http: string, exit: Promise<{ code: number | null, signal: string | null }>, stderr: () => string }

async function startProcess (t: { teardown: (fn: () => unknown) => void }, dataPath: string, extra: string[] = []): Promise<Proc> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'nsqd/main.ts'),
    '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--data-path=${dataPath}`, '--log-level=info', ...extra], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr!.on('data', (c: Buffer) => { err += c.toString() })
  const exit = new Promise<{ code: number | null, signal: string | null }>((resolve) => {
    child.once('exit', (code, signal) => { resolve({ code, signal }) })
  })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  await until(() => /listening tcp=(\S+)/.test(out) || child.exitCode !== null, 'nsqd to listen', 30_000, 20)
  const m = /listening tcp=(\S+)(?: http=(\S+))?/.exec(out)
  if (m === null) throw new Error(`nsqd did not start: ${err}`)
  return { child, tcp: m[1], http: m[2] ?? '', exit, stderr: () => err }
}

t.test('SIGTERM: exit 0, restart delivers everything, deferred delay kept', async (t) => {
  const dataPath = tmpDir(t)
  let p = await startProcess(t, dataPath)
  const pub = await RawConn.connect(t, p.tcp)
  for (let i = 0; i < 2000; i += 500) {
    pub.write(cmd.mpub('jobs', Array.from({ length: 500 }, (_, j) => Buffer.from(`j${i + j}`))))
    t.equal(await pub.response(), 'OK')
  }
  const c = await RawConn.connect(t, p.tcp)
  await c.identify()
  await c.subscribe('jobs', 'work', 5)
  const held = []
  for (let i = 0; i < 5; i++) held.push(await c.message())
  c.write(cmd.rdy(0))
  c.write(cmd.fin(held[0].id))
  c.write(cmd.req(held[1].id, 2000))
  const reqAt = Date.now()
  // commands are handled in order: once this PUB is answered, the FIN and REQ were handled too
  t.equal(await c.publish('marker', 'x'), 'OK')

  p.child.kill('SIGTERM')
  const { code } = await p.exit
  t.equal(code, 0, 'exit code 0')

  p = await startProcess(t, dataPath)
  const c2 = await RawConn.connect(t, p.tcp)
  await c2.identify()
  await c2.subscribe('jobs', 'work', 2500)
  const seen = new Set<string>()
  let deferredAt = 0
  while (seen.size < 1999) {
    const m = await c2.message(10_000)
    const body = m.body.toString()
    if (m.id === held[1].id) deferredAt = Date.now()
    seen.add(body)
    c2.write(cmd.fin(m.id))
  }
  t.equal(seen.size, 1999, 'all but the FINed message (queued, in flight, deferred)')
  t.notOk(seen.has(held[0].body.toString()), 'the FINed one is not redelivered')
  t.ok(deferredAt - reqAt >= 1900, `the deferred message waited out its delay (${deferredAt - reqAt} ms)`)
  p.child.kill('SIGTERM')
  t.equal((await p.exit).code, 0)
})

t.test('durable mode: kill -9 during a publish stream loses no acknowledged message', async (t) => {
  const dataPath = tmpDir(t)
  const flags = ['--mem-queue-size=0', '--sync-every=1']
  let p = await startProcess(t, dataPath, flags)
  const consumer = await RawConn.connect(t, p.tcp)
  await consumer.identify()
  await consumer.subscribe('stream', 'ch', 0)

  // publisher: MPUBs of 20 pipelined 8 deep; responses come in order, so acks are known exactly
  const pub = await RawConn.connect(t, p.tcp)
  const acked = new Set<string>()
  const sent: string[][] = []
  let next = 0
  let stop = false
  const send = (): void => {
    const bodies = Array.from({ length: 20 }, () => `b${next++}`)
    sent.push(bodies)
    pub.write(cmd.mpub('stream', bodies.map(b => Buffer.from(b))))
  }
  const publishing = (async () => {
    for (let i = 0; i < 8; i++) send()
    while (!stop) {
      let r: string
      try { r = await pub.response() } catch { return }
      if (r !== 'OK') return
      for (const b of sent.shift()!) acked.add(b)
      if (!stop) send()
    }
  })()

  // consumer: takes some, FINs every other one, leaves the rest in flight
  consumer.write(cmd.rdy(40))
  const finned = new Set<string>()
  const unfinished = new Map<string, string>()
  for (let i = 0; i < 40; i++) {
    const m = await consumer.message(10_000)
    if (i % 2 === 0) { consumer.write(cmd.fin(m.id)); finned.add(m.body.toString()) } else unfinished.set(m.id, m.body.toString())
  }
  await until(() => acked.size >= 2000, 'acknowledged publishes', 30_000, 10)
  p.child.kill('SIGKILL')
  stop = true
  const { signal } = await p.exit
  t.equal(signal, 'SIGKILL')
  await publishing
  const ackedAtKill = new Set(acked)
  t.ok(ackedAtKill.size >= 2000, `${ackedAtKill.size} messages acknowledged before the kill`)

  p = await startProcess(t, dataPath, flags)
  const c2 = await RawConn.connect(t, p.tcp)
  await c2.identify()
  await c2.subscribe('stream', 'ch', 2500)
  const must = [...ackedAtKill].filter(b => !finned.has(b))
  const got = new Set<string>()
  const gotIds = new Set<string>()
  await until(async () => {
    while (true) {
      let m
      try { m = await c2.message(200) } catch { break }
      got.add(m.body.toString())
      gotIds.add(m.id)
      c2.write(cmd.fin(m.id))
    }
    return must.every(b => got.has(b))
  }, 'every acknowledged message', 30_000, 0).catch(() => {})
  const missing = must.filter(b => !got.has(b))
  t.same(missing.slice(0, 10), [], `every acknowledged, un-FINed message consumed after restart (${must.length} expected, ${missing.length} missing)`)
  t.ok([...unfinished.keys()].every(id => gotIds.has(id)), 'delivered-but-unFINed messages come back with their ids')
  p.child.kill('SIGTERM')
  t.equal((await p.exit).code, 0)
})

t.test('durable mode with --max-attempts: kill -9 while messages are being dead-lettered loses none and duplicates none', async (t) => {
  const dataPath = tmpDir(t)
  const flags = ['--mem-queue-size=0', '--sync-every=1', '--max-attempts=2']
  const N = 2000
  let p = await startProcess(t, dataPath, flags)
  const pub = await RawConn.connect(t, p.tcp)
  pub.write(cmd.mpub('dlq', Array.from({ length: N }, (_, i) => Buffer.from(`m${i}`))))
  t.equal(await pub.response(), 'OK')
  const c = await RawConn.connect(t, p.tcp)
  await c.identify()
  await c.subscribe('dlq', 'work', N)
  // two failing rounds: every message is REQed after attempt 1 and after attempt 2; the second
  // round's REQs make nsqd dead-letter them, and the process is killed while it does
  const reqs: Buffer[] = []
  let firstAttempts = 0
  for (let i = 0; i < N; i++) {
    const m = await c.message(10_000)
    if (m.attempts === 1) firstAttempts++
    reqs.push(cmd.req(m.id, 0))
  }
  t.equal(firstAttempts, N, 'first round: attempt 1')
  const watch = await RawConn.connect(t, p.tcp)
  await watch.identify()
  await watch.subscribe('dlq.dead', 'inspect', 1)
  c.write(Buffer.concat(reqs))
  reqs.length = 0
  for (let i = 0; i < N; i++) reqs.push(cmd.req((await c.message(10_000)).id, 0))
  // the REQs go out in pieces; the kill comes while nsqd is still taking them
  for (let i = 0; i < N; i += 100) c.write(Buffer.concat(reqs.slice(i, i + 100)))
  await watch.message(10_000)
  p.child.kill('SIGKILL')
  t.equal((await p.exit).signal, 'SIGKILL')

  p = await startProcess(t, dataPath, flags)
  const dead = await RawConn.connect(t, p.tcp)
  await dead.identify()
  await dead.subscribe('dlq.dead', 'inspect', N)
  const inWork = new Map<string, number>()
  const inDead = new Map<string, number>()
  const drain = async (conn: RawConn, into: Map<string, number>, fin: boolean): Promise<void> => {
    while (true) {
      let m
      try { m = await conn.message(100) } catch { return }
      const b = m.body.toString()
      into.set(b, (into.get(b) ?? 0) + 1)
      if (fin) conn.write(cmd.fin(m.id))
      else conn.write(cmd.req(m.id, 0))
    }
  }
  // what was dead-lettered before the kill, then the channel's remainder (queued or in flight at the
  // kill): the restarted channel keeps failing, so it ends in the dead-letter topic too
  await drain(dead, inDead, true)
  const before = inDead.size
  const work = await RawConn.connect(t, p.tcp)
  await work.identify()
  await work.subscribe('dlq', 'work', N)
  await until(async () => {
    await drain(work, inWork, false)
    await drain(dead, inDead, true)
    return inDead.size === N
  }, 'every message in the dead-letter topic', 30_000, 0).catch(() => {})
  t.equal(inDead.size, N, `every message reached dlq.dead (${before} before the kill, ${N - before} after the restart; ${inWork.size} delivered again first)`)
  t.same([...inDead.values()].filter(n => n > 1), [], 'no message dead-lettered twice')
  t.ok(await dead.quiet(200), 'nothing more in the dead-letter topic')
  p.child.kill('SIGTERM')
  t.equal((await p.exit).code, 0)
})

t.test('durable mode: kill -9 in the middle of a dead-letter replay moves every message exactly once', async (t) => {
  const dataPath = tmpDir(t)
  const flags = ['--mem-queue-size=0', '--sync-every=1']
  const N = 20_000
  let p = await startProcess(t, dataPath, flags)
  const api = (path: string, method = 'GET'): Promise<Response> => fetch(`http://${p.http}${path}`, { method })
  const depth = async (topic: string): Promise<number> => ((await (await api(`/topic/peek?topic=${topic}&n=1`)).json()) as { depth: number }).depth
  const pub = await RawConn.connect(t, p.tcp)
  for (let i = 0; i < N; i += 1000) {
    pub.write(cmd.mpub('orders.dead', Array.from({ length: 1000 }, (_, j) => Buffer.from(`o${i + j}`))))
    t.equal(await pub.response(), 'OK')
  }
  // first, selected ids from the middle (tombstones that must survive the kill too)
  const mid = (await (await api('/topic/peek?topic=orders.dead&n=50&offset=9000')).json()) as { messages: Array<{ id: string }> }
  const sel = await api(`/topic/replay?topic=orders.dead&${mid.messages.map((m) => `id=${m.id}`).join('&')}`, 'POST')
  t.same(await sel.json(), { moved: 50 }, 'fifty selected ids replayed')

  // then everything, killed while it runs
  const replaying = api('/topic/replay?topic=orders.dead', 'POST').then(async (r) => await r.text(), () => 'killed')
  // (peek counts moves not yet on disk too: after the kill the origin holds only what was committed)
  await until(async () => await depth('orders') >= 2000, 'the replay under way', 30_000, 2)
  p.child.kill('SIGKILL')
  t.equal((await p.exit).signal, 'SIGKILL')
  t.equal(await replaying, 'killed', 'the replay did not finish before the kill')

  p = await startProcess(t, dataPath, flags)
  const inOrigin = await depth('orders')
  const inDead = await depth('orders.dead')
  t.ok(inOrigin > 0 && inDead > 0, `restarted in the middle: ${inOrigin} in orders, ${inDead} still in orders.dead`)
  t.equal(inOrigin + inDead, N, 'nothing lost or doubled at the kill: the two depths add up')
  const again = (await (await api('/topic/replay?topic=orders.dead', 'POST')).json()) as { moved: number }
  t.equal(again.moved, inDead, 'the second replay moves the rest')
  t.equal(await depth('orders.dead'), 0, 'none left in the dead-letter topic')

  const c = await RawConn.connect(t, p.tcp)
  await c.identify()
  await c.subscribe('orders', 'c', 2500)
  const seen = new Map<string, number>()
  await until(async () => {
    while (true) {
      let m
      try { m = await c.message(200) } catch { break }
      const b = m.body.toString()
      seen.set(b, (seen.get(b) ?? 0) + 1)
      c.write(cmd.fin(m.id))
    }
    return seen.size >= N
  }, 'every replayed message', 60_000, 0).catch(() => {})
  t.equal(seen.size, N, 'every message reached the origin')
  t.same([...seen.values()].filter((n) => n > 1), [], 'none twice')
  t.ok(await c.quiet(200), 'nothing more')
  p.child.kill('SIGTERM')
  t.equal((await p.exit).code, 0)
})

t.test('durable mode with drop-oldest: kill -9 during a publish stream keeps exactly the newest messages, none twice', async (t) => {
  const dataPath = tmpDir(t)
  const CAP = 100
  const flags = ['--mem-queue-size=0', '--sync-every=1', `--max-queue-messages=${CAP}`, '--queue-full-policy=drop-oldest']
  let p = await startProcess(t, dataPath, flags)
  const holder = await RawConn.connect(t, p.tcp)
  await holder.identify()
  await holder.subscribe('capped', 'keep', 0) // the channel exists and nobody consumes it

  // MPUBs of 20 pipelined 4 deep, bodies numbered in order; acks come in order
  const pub = await RawConn.connect(t, p.tcp)
  let next = 0
  let lastAcked = -1
  const inflight: number[] = []
  let stop = false
  const send = (): void => {
    const bodies = Array.from({ length: 20 }, () => Buffer.from(`n${next++}`))
    inflight.push(next - 1)
    pub.write(cmd.mpub('capped', bodies))
  }
  const publishing = (async () => {
    for (let i = 0; i < 4; i++) send()
    while (!stop) {
      let r: string
      try { r = await pub.response() } catch { return }
      if (r !== 'OK') return
      lastAcked = inflight.shift()!
      if (!stop) send()
    }
  })()
  await until(() => lastAcked >= 1500, 'acknowledged publishes', 30_000, 10)
  p.child.kill('SIGKILL')
  stop = true
  t.equal((await p.exit).signal, 'SIGKILL')
  await publishing
  const ackedAtKill = lastAcked

  p = await startProcess(t, dataPath, flags)
  const c = await RawConn.connect(t, p.tcp)
  await c.identify()
  await c.subscribe('capped', 'keep', 1000)
  const got: number[] = []
  while (true) {
    let m
    try { m = await c.message(500) } catch { break }
    got.push(Number(m.body.toString().slice(1)))
    c.write(cmd.fin(m.id))
  }
  t.equal(got.length, CAP, `the cap's worth of messages (${got.length})`)
  const last = got[got.length - 1]!
  t.ok(last >= ackedAtKill, `the newest acknowledged message is kept (last ${last}, acked ${ackedAtKill})`)
  t.same(got, Array.from({ length: CAP }, (_, i) => last - CAP + 1 + i), 'the newest ones, contiguous, in order, none twice: a dropped message never came back')
  p.child.kill('SIGTERM')
  t.equal((await p.exit).code, 0)
})
