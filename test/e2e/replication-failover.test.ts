// The replication fault test, with real processes: etcd, nsqlookupd and a group of 3 nsqd
// (--replication-factor=3 --min-insync-replicas=2). Two producers (raw PUBs and the real nsqjs
// Writer) publish one message at a time to whichever node is primary and count every acknowledged
// body; two consumers (ours and the real nsqjs Reader, each on its own channel) find the primary
// through lookupd and FIN. kill -9 the primary mid-stream; later SIGSTOP the next primary for longer than
// the session TTL and SIGCONT it; then restart the killed node. Every acknowledged body must be
// delivered, the paused primary must not acknowledge anything after it resumes, and publishing and
// delivery must resume within the stated failover time. Then drain with processes: SIGUSR2 on the
// primary hands over and exits 0, SIGUSR2 on a standby leaves the group and exits 0.

import t from 'tap'
import nsq from 'nsqjs'
import type * as Nsq from 'nsqjs'
import { Consumer } from '../../client/consumer.js'
import { spawnDaemon, type Daemon } from '../helpers/procs.js'
import { freePort, startEtcd, waitFor } from '../helpers/etcd.js'
import { RawConn, tmpDir, uniq } from '../helpers/nsqd.js'
import * as cmd from '../../client/wire/commands.js'

/** Effective session TTL: etcd 3.4 raises a 1 s lease to its 2 s minimum. */
const TTL_MS = 2000
/** The stated failover time: the session TTL plus a few seconds (election, promotion, lookupd). */
const FAILOVER_BOUND_MS = TTL_MS + 4000

interface Node {
  name: string
  args: string[]
  tcp: string
  http: string
  proc: Daemon | null
}

async function role (n: Node): Promise<{ role: string, epoch: number, standbys?: Array<{ id: string, in_sync: boolean }> } | null> {
  if (n.proc === null) return null
  try {
    const res = await fetch(`http://${n.http}/info`, { signal: AbortSignal.timeout(500) })
    return ((await res.json()) as { replication: any }).replication
  } catch {
    return null
  }
}

t.test('replicated group of 3 nsqd processes: kill -9, SIGSTOP/SIGCONT, restart; every acknowledged body is delivered', async (t) => {
  const etcd = await startEtcd(t)
  const lookupd = await spawnDaemon(t, 'lookupd/main.ts', ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0',
    '--broadcast-address=127.0.0.1', '--inactive-producer-timeout=1500ms', '--log-level=warn'])
  const nodes: Node[] = []
  for (let i = 0; i < 3; i++) {
    const [tcp, http, repl] = [await freePort(), await freePort(), await freePort()]
    nodes.push({
      name: `n${i}`,
      tcp: `127.0.0.1:${tcp}`,
      http: `127.0.0.1:${http}`,
      proc: null,
      args: [`--tcp-address=127.0.0.1:${tcp}`, `--http-address=127.0.0.1:${http}`, `--replication-address=127.0.0.1:${repl}`,
        '--broadcast-address=127.0.0.1', `--data-path=${tmpDir(t)}`, '--replication-group=e2e', '--replication-factor=3',
        '--min-insync-replicas=2', `--etcd-endpoints=${etcd.endpoint}`, '--replication-session-ttl=1s', '--replica-lag-timeout=1s',
        `--lookupd-tcp-address=${lookupd.tcp}`, '--lookupd-ping-interval=250ms', '--log-level=info']
    })
  }
  t.teardown(() => {
    if ((!t.passing() && process.env.NSQ_TEST_LOGS !== undefined) || process.env.NSQ_TEST_LOGS === 'always') {
      for (const n of nodes) process.stderr.write(`---- ${n.name}\n${n.proc?.output() ?? ''}\n`)
    }
  })
  const start = async (n: Node): Promise<void> => { n.proc = await spawnDaemon(t, 'nsqd/main.ts', n.args) }
  await start(nodes[0]!)
  await waitFor('n0 primary', async () => (await role(nodes[0]!))?.role === 'primary', 15000, 50)
  await Promise.all([start(nodes[1]!), start(nodes[2]!)])
  await waitFor('both standbys in sync', async () => ((await role(nodes[0]!))?.standbys ?? []).filter(s => s.in_sync).length === 2, 15000, 50)

  const topic = uniq('repl')
  // both channels exist before the first publish, so each gets every message
  t.equal((await fetch(`http://${nodes[0]!.http}/topic/create?topic=${topic}`, { method: 'POST' })).status, 200)
  for (const ch of ['ch', 'nsqjs']) {
    const r = await fetch(`http://${nodes[0]!.http}/channel/create?topic=${topic}&channel=${ch}`, { method: 'POST' })
    t.equal(r.status, 200)
  }
  // ---- producer: one PUB in flight, to whichever node is primary; every OK counted ----------------
  const acked = new Set<string>()
  const oks: Array<{ node: Node, at: number }> = []
  let stopProducer = false
  let current: { node: Node, conn: RawConn } | null = null
  const findPrimary = async (): Promise<Node | null> => {
    for (const n of nodes) if ((await role(n))?.role === 'primary') return n
    return null
  }
  const producer = (async () => {
    let i = 0
    for (let round = 0; !stopProducer && round < 100_000; round++) {
      if (current === null || current.conn.closed) {
        const p = await findPrimary()
        if (p === null) { await new Promise((resolve) => setTimeout(resolve, 50)); continue }
        try {
          const conn = await RawConn.connect(t, p.tcp)
          current = { node: p, conn }
        } catch { await new Promise((resolve) => setTimeout(resolve, 50)); continue }
      }
      const { node, conn } = current
      const body = `m${i}`
      conn.write(cmd.pub(topic, body))
      let answer = ''
      try { answer = (await conn.next(15000)).data.toString() } catch (err) { answer = (err as Error).message }
      if (answer === 'OK') {
        acked.add(body)
        oks.push({ node, at: Date.now() })
        i++
      } else {
        conn.socket.destroy()
        current = null
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
  })()

  // ---- a second producer: the real nsqjs Writer, re-created on the primary after any failure -------
  const nsqjsProducer = (async () => {
    let i = 0
    let w: Nsq.Writer | null = null
    let broken = true
    for (let round = 0; !stopProducer && round < 100_000; round++) {
      if (w === null || broken) {
        if (w !== null) w.close()
        w = null
        const p = await findPrimary()
        if (p === null) { await new Promise((resolve) => setTimeout(resolve, 50)); continue }
        const [host, port] = [p.tcp.slice(0, p.tcp.lastIndexOf(':')), Number(p.tcp.slice(p.tcp.lastIndexOf(':') + 1))]
        const cand = new nsq.Writer(host, port)
        const ok = await new Promise<boolean>((resolve) => {
          cand.once('ready', () => { resolve(true) })
          cand.once('error', () => { resolve(false) })
          cand.once('closed', () => { resolve(false) })
          cand.connect()
        })
        cand.on('error', () => { broken = true })
        cand.on('closed', () => { broken = true })
        if (!ok) { cand.close(); await new Promise((resolve) => setTimeout(resolve, 50)); continue }
        w = cand
        broken = false
      }
      const body = `j${i}`
      const writer: Nsq.Writer = w
      const err = await new Promise<Error | null>((resolve) => {
        const timer = setTimeout(() => { resolve(new Error('no answer')) }, 15000)
        writer.publish(topic, body, (e?: Error) => { clearTimeout(timer); resolve(e ?? null) })
      })
      if (err === null) { acked.add(body); i++ } else { broken = true; await new Promise((resolve) => setTimeout(resolve, 50)) }
    }
    w?.close()
  })()

  // ---- consumer through lookupd -----------------------------------------------------------------
  const delivered = new Set<string>()
  let lastDeliveryAt = 0
  const consumer = new Consumer({ topic, channel: 'ch', lookupdHttpAddresses: [lookupd.http], lookupdPollIntervalMs: 250, lookupdPollJitter: 0, maxInFlight: 200 })
  consumer.on('error', () => {})
  consumer.handle((m) => { delivered.add(m.body.toString()); lastDeliveryAt = Date.now() })
  t.teardown(async () => { await consumer.close() })
  // and the real nsqjs Reader, also through lookupd, on its own channel
  const deliveredNsqjs = new Set<string>()
  const reader = new nsq.Reader(topic, 'nsqjs', { lookupdHTTPAddresses: [lookupd.http], lookupdPollInterval: 1, maxInFlight: 100 })
  reader.on('error', () => {})
  reader.on('message', (m: Nsq.Message) => { deliveredNsqjs.add(m.body.toString()); m.finish() })
  t.teardown(() => { reader.close() })
  await waitFor('first publishes', () => acked.size >= 100, 15000)
  await consumer.connect()
  reader.connect()
  await waitFor('first deliveries', () => delivered.size >= 50, 15000)

  // ---- 1: kill -9 the primary mid-stream ----------------------------------------------------------
  const p1 = nodes[0]!
  const killedAt = Date.now()
  await p1.proc!.stop('SIGKILL')
  p1.proc = null
  const before = acked.size
  // (an OK from the killed node can still arrive just after the kill: it left before)
  await waitFor('a publish acknowledged by the new primary', () => oks.some(o => o.at > killedAt && o.node !== p1) && acked.size > before, FAILOVER_BOUND_MS + 5000)
  const publishResumedMs = Math.min(...oks.filter(o => o.at > killedAt && o.node !== p1).map(o => o.at)) - killedAt
  await waitFor('delivery after the kill', () => lastDeliveryAt > killedAt + publishResumedMs, FAILOVER_BOUND_MS + 5000)
  const deliveryResumedMs = lastDeliveryAt - killedAt
  t.ok(publishResumedMs < FAILOVER_BOUND_MS, `publishing resumed ${publishResumedMs} ms after kill -9 (bound ${FAILOVER_BOUND_MS} ms)`)
  t.ok(deliveryResumedMs < FAILOVER_BOUND_MS + 1000, `delivery resumed ${deliveryResumedMs} ms after kill -9`)
  const p2 = (await findPrimary())!
  t.not(p2, p1, 'another node leads')
  await waitFor('more publishes', () => acked.size >= before + 100, 15000)

  // ---- 2: SIGSTOP the new primary for longer than the TTL, then SIGCONT ----------------------------
  const stoppedAt = Date.now()
  p2.proc!.proc.kill('SIGSTOP')
  const p3 = nodes.find(n => n !== p1 && n !== p2)!
  await waitFor('the third node takes over', async () => (await role(p3))?.role === 'primary', FAILOVER_BOUND_MS + 5000, 50)
  const tookOverMs = Date.now() - stoppedAt
  const resumedAt = Date.now()
  p2.proc!.proc.kill('SIGCONT')
  await waitFor('the paused node steps down', async () => (await role(p2))?.role === 'standby', 10000, 50)
  const stale = oks.filter(o => o.node === p2 && o.at >= resumedAt)
  t.same(stale.length, 0, 'the paused primary acknowledged nothing after it resumed (epoch fencing)')
  t.ok(tookOverMs < FAILOVER_BOUND_MS + 1000, `the third node took over ${tookOverMs} ms after SIGSTOP`)
  const before2 = acked.size
  await waitFor('publishes on the third node (the paused one resynced)', () => acked.size >= before2 + 100, 20000)

  // ---- 3: restart the killed node: it rejoins as a standby --------------------------------------
  await start(p1)
  await waitFor('the restarted node in sync', async () => ((await role(p3))?.standbys ?? []).filter(s => s.in_sync).length === 2, 15000, 50)
  // how each standby caught up (a killed or paused old primary may hold batches nobody else has:
  // then a full copy; else from the primary's tail)
  for (const n of [p1, p2]) t.comment(`${n.name} catch-ups: ${JSON.stringify(((await role(n)) as { catchups?: unknown } | null)?.catchups)}`)
  const before3 = acked.size
  await waitFor('more publishes', () => acked.size >= before3 + 50, 15000)
  stopProducer = true
  await producer
  await nsqjsProducer
  t.ok([...acked].some(b => b.startsWith('j')), 'the nsqjs Writer published too')

  await waitFor('every acknowledged body delivered', () => [...acked].every(b => delivered.has(b)), 20000, 50).catch(() => {})
  const missing = [...acked].filter(b => !delivered.has(b))
  t.same(missing.slice(0, 20), [], `every one of ${acked.size} acknowledged bodies was delivered (${missing.length} missing)`)
  await waitFor('every acknowledged body delivered to nsqjs', () => [...acked].every(b => deliveredNsqjs.has(b)), 20000, 50).catch(() => {})
  const missingNsqjs = [...acked].filter(b => !deliveredNsqjs.has(b))
  t.same(missingNsqjs.slice(0, 20), [], `nsqjs Reader: every acknowledged body delivered (${missingNsqjs.length} missing)`)
  t.comment(`failover: publish resumed ${publishResumedMs} ms, delivery ${deliveryResumedMs} ms after kill -9; SIGSTOP takeover ${tookOverMs} ms; ${acked.size} acknowledged, ${delivered.size} delivered`)
})

t.test('drain with processes: SIGUSR2 on the primary hands over to the standby and exits 0 (no lease to wait for); SIGUSR2 on a standby leaves the group and exits 0', async (t) => {
  const etcd = await startEtcd(t)
  const start = async (): Promise<Node> => {
    const n: Node = { name: 'd', tcp: '', http: '', proc: null, args: [] }
    n.args = ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--replication-address=127.0.0.1:${await freePort()}`,
      '--broadcast-address=127.0.0.1', `--data-path=${tmpDir(t)}`, '--replication-group=drain', '--replication-factor=3',
      '--min-insync-replicas=1', `--etcd-endpoints=${etcd.endpoint}`, '--replication-session-ttl=5s', '--log-level=info']
    n.proc = await spawnDaemon(t, 'nsqd/main.ts', n.args)
    n.tcp = n.proc.tcp
    n.http = n.proc.http
    return n
  }
  const exited = async (n: Node): Promise<number | null> => {
    await waitFor('exit', () => n.proc!.proc.exitCode !== null || n.proc!.proc.signalCode !== null, 20000, 20)
    return n.proc!.proc.exitCode
  }
  const a = await start()
  await waitFor('a primary', async () => (await role(a))?.role === 'primary', 15000, 50)
  const b = await start()
  await waitFor('b in sync', async () => (await role(a))?.standbys?.some(s => s.in_sync) ?? false, 15000, 50)
  const topic = uniq('pdrain')
  const res = await fetch(`http://${a.http}/mpub?topic=${topic}`, { method: 'POST', body: Array.from({ length: 20 }, (_, i) => `m${i}`).join('\n') })
  t.equal(res.status, 200)

  const t0 = Date.now()
  a.proc!.proc.kill('SIGUSR2')
  t.equal(await exited(a), 0, 'the primary exits 0 after handing over')
  await waitFor('b primary', async () => (await role(b))?.role === 'primary', 10000, 50)
  const took = Date.now() - t0
  t.ok(took < 5000, `b leads ${took} ms after SIGUSR2, sooner than the 5 s session TTL`)
  const stats = await (await fetch(`http://${b.http}/stats?format=json&topic=${topic}`)).json() as { topics: Array<{ depth: number }> }
  t.equal(stats.topics[0]?.depth, 20, 'every message is on the new primary')
  t.match(a.proc!.output(), /handing over to an in-sync standby/)

  const c = await start()
  const cid = await waitFor('c in sync', async () => (await role(b))?.standbys?.find(s => s.in_sync)?.id, 15000, 50)
  c.proc!.proc.kill('SIGUSR2')
  t.equal(await exited(c), 0, 'a standby exits 0')
  await waitFor('c out of the in-sync set', async () => !((await role(b)) as { in_sync?: string[] } | null)?.in_sync?.includes(cid), 10000, 50)
  t.match(c.proc!.output(), /this standby leaves the group/)
})
