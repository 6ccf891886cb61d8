// The consumer across several nsqds: RDY redistribution when there are more connections than
// max-in-flight, an nsqd killed and restarted mid-consume, discovery through lookupd (a scripted
// lookupd here, to control answers: new producers, gone producers, garbage, timeouts).

import t from 'tap'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { startNSQD, tmpDir, uniq, until } from '../helpers/nsqd.js'
import { Producer, Consumer, silentLogger } from '../../client/index.js'

const quiet = { logger: silentLogger }

t.test('5 nsqd, maxInFlight 2: every nsqd drained', async (t) => {
  const topic = uniq()
  const nodes = await Promise.all(Array.from({ length: 5 }, () => startNSQD(t)))
  const per = 40
  for (const n of nodes) {
    const p = new Producer(n.tcpAddress, quiet)
    await p.publishMany(topic, Array.from({ length: per }, (_, i) => `${n.tcpAddress}/${i}`))
    await p.close()
  }
  const seen = new Set<string>()
  let maxConcurrent = 0
  let concurrent = 0
  const c = new Consumer({
    ...quiet,
    topic,
    channel: 'drain',
    nsqdTcpAddresses: nodes.map((n) => n.tcpAddress),
    maxInFlight: 2,
    rdyRedistributeIntervalMs: 20,
    lowRdyIdleTimeoutMs: 40,
    lowRdyTimeoutMs: 100
  })
  t.teardown(() => c.close())
  c.handle(async (m) => {
    concurrent++
    maxConcurrent = Math.max(maxConcurrent, concurrent)
    seen.add(m.text())
    await new Promise((resolve) => setImmediate(resolve))
    concurrent--
  })
  await c.connect()
  t.equal(c.connectedAddresses.length, 5)
  await until(() => seen.size === per * 5, `all ${per * 5} messages (have ${seen.size})`, 15000)
  t.ok(maxConcurrent <= 2, `never more than maxInFlight in flight (${maxConcurrent})`)
  for (const n of nodes) {
    const ch = n.topics.get(topic)?.channels.get('drain')
    t.equal(ch?.depth, 0, `${n.tcpAddress} drained`)
  }
})

t.test('nsqd killed and restarted mid-consume: every message received at least once', async (t) => {
  const topic = uniq()
  const dataPath = tmpDir(t)
  const n1 = await startNSQD(t, { dataPath })
  const addr = n1.tcpAddress
  const p = new Producer(addr, { ...quiet, reconnectMinMs: 20, retries: 50 })
  t.teardown(() => p.close())
  const before = Array.from({ length: 200 }, (_, i) => `a${i}`)
  await p.publishMany(topic, before)
  const seen = new Set<string>()
  const c = new Consumer({ ...quiet, topic, channel: 'ch', nsqdTcpAddresses: [addr], maxInFlight: 5, reconnectMinMs: 20, reconnectMaxMs: 100 })
  t.teardown(() => c.close())
  let disconnects = 0
  c.on('disconnected', () => { disconnects++ })
  c.on('error', () => {})
  c.handle(async (m) => {
    await new Promise((resolve) => setTimeout(resolve, 1))
    seen.add(m.text())
  })
  await c.connect()
  await until(() => seen.size >= 50, 'consuming', 5000)
  await n1.close()
  await until(() => disconnects === 1, 'consumer saw the loss')
  const n2 = await startNSQD(t, { dataPath, tcpAddress: addr })
  t.equal(n2.tcpAddress, addr)
  const after = Array.from({ length: 100 }, (_, i) => `b${i}`)
  await Promise.all(after.map((b) => p.publish(topic, b)))
  await until(() => after.every((b) => seen.has(b)), 'messages published after the restart', 10000)
  const lost = before.filter((b) => !seen.has(b))
  await until(() => before.every((b) => seen.has(b)), `messages queued before the kill (${lost.length} missing)`, 10000)
  t.pass(`all ${seen.size} messages received`)
})

t.test('lookupd discovery: new producers connected, gone ones dropped, garbage and timeouts survived', async (t) => {
  const topic = uniq()
  const nodes = await Promise.all(Array.from({ length: 3 }, () => startNSQD(t)))
  const peer = (addr: string) => {
    const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))]
    return { remote_address: 'x', hostname: 'h', broadcast_address: host, tcp_port: port, http_port: 1, version: '1.3.0' }
  }
  let mode: 'one' | 'two' | 'garbage' | 'slow' | 'third' = 'one'
  let polls = 0
  const server = http.createServer((req, res) => {
    polls++
    if (!req.url?.startsWith('/lookup?topic=')) { res.statusCode = 404; res.end(); return }
    res.setHeader('X-NSQ-Content-Type', 'nsq; version=1.0')
    if (mode === 'garbage') { res.end(polls % 2 === 0 ? '{"producers": "nope"}' : '<html>'); return }
    if (mode === 'slow') return
    const list = mode === 'one' ? [nodes[0]!] : mode === 'two' ? [nodes[0]!, nodes[1]!] : [nodes[2]!]
    res.end(JSON.stringify({ channels: [], producers: list.map((n) => peer(n.tcpAddress)) }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const lookupd = `127.0.0.1:${(server.address() as AddressInfo).port}`
  const seen = new Set<string>()
  const errors: string[] = []
  const c = new Consumer({
    ...quiet,
    topic,
    channel: 'ch',
    lookupdHttpAddresses: [lookupd],
    lookupdPollIntervalMs: 40,
    lookupdPollJitter: 0,
    lookupdTimeoutMs: 300,
    maxInFlight: 10,
    closeUnlisted: true
  })
  t.teardown(() => c.close())
  c.on('error', (e) => { errors.push(e.message) })
  c.handle((m) => { seen.add(m.text()) })
  await c.connect()
  await until(() => c.connectedAddresses.length === 1, 'first producer connected')
  t.same(c.connectedAddresses, [nodes[0]!.tcpAddress], 'one producer listed, one connection')
  mode = 'two'
  await until(() => c.connectedAddresses.length === 2, 'second producer connected')
  mode = 'garbage'
  const p0 = polls
  await until(() => polls > p0 + 1 && errors.some((e) => e.includes('no producers array')) && errors.some((e) => e.includes('invalid JSON')), 'garbage reported')
  mode = 'slow'
  await until(() => errors.some((e) => e.includes('timed out after 300ms')), 'timeout reported')
  t.equal(c.connectedAddresses.length, 2, 'failed polls keep the connections')
  mode = 'third'
  await until(() => c.connectedAddresses.length === 1 && c.connectedAddresses[0] === nodes[2]!.tcpAddress, 'moved to the third; gone ones dropped', 5000)
  for (const [i, n] of nodes.entries()) {
    const p = new Producer(n.tcpAddress, quiet)
    await p.publish(topic, `from${i}`)
    await p.close()
  }
  await until(() => seen.has('from2'), 'consumes from the listed nsqd')
  t.notOk(seen.has('from0'), 'not connected to a dropped nsqd')
})

t.test('real nsqlookupd: consumer finds nsqds registered for the topic; nsq_tail-style reconnect after loss', async (t) => {
  const { NSQLookupd } = await import('../../lookupd/nsqlookupd.js')
  const lookupd = new NSQLookupd({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', logLevel: 'error' } as never)
  await lookupd.start()
  t.teardown(() => lookupd.close())
  const topic = uniq()
  const opts = { lookupdTcpAddresses: [lookupd.tcpAddress.address], broadcastAddress: '127.0.0.1' }
  const n1 = await startNSQD(t, opts)
  const n2 = await startNSQD(t, opts)
  for (const n of [n1, n2]) {
    const p = new Producer(n.tcpAddress, quiet)
    await p.publish(topic, `hello from ${n.tcpAddress}`)
    await p.close()
  }
  const seen = new Set<string>()
  const c = new Consumer({ ...quiet, topic, channel: 'ch', lookupdHttpAddresses: [lookupd.httpAddress.address], lookupdPollIntervalMs: 50, maxInFlight: 4 })
  t.teardown(() => c.close())
  c.handle((m) => { seen.add(m.text()) })
  await until(async () => {
    if (c.connectedAddresses.length === 0) await c.connect().catch(() => {})
    return seen.size === 2
  }, 'messages from both nsqds via lookupd', 10000)
  t.same(c.connectedAddresses.sort(), [n1.tcpAddress, n2.tcpAddress].sort())
})

t.test('lookupd host name re-resolved at every poll: a lookupd that moved to a new IP is followed (nsq#1233)', async (t) => {
  const topic = uniq()
  const nodes = await Promise.all(Array.from({ length: 2 }, () => startNSQD(t)))
  // Two scripted lookupds on the same port of 127.0.0.2 and 127.0.0.3, each listing a different nsqd;
  // both stay up, so only a fresh resolution (not a reconnect forced by a dead socket) can move the poll.
  const serve = (node: { tcpAddress: string }) => http.createServer((req, res) => {
    const i = node.tcpAddress.lastIndexOf(':')
    res.end(JSON.stringify({ channels: [], producers: [{ remote_address: 'x', hostname: 'h', broadcast_address: node.tcpAddress.slice(0, i), tcp_port: Number(node.tcpAddress.slice(i + 1)), http_port: 1, version: '1.3.0' }] }))
  })
  const a = serve(nodes[0]!)
  await new Promise<void>((resolve) => a.listen(0, '127.0.0.2', resolve))
  const port = (a.address() as AddressInfo).port
  const b = serve(nodes[1]!)
  await new Promise<void>((resolve, reject) => { b.once('error', reject); b.listen(port, '127.0.0.3', resolve) })
  t.teardown(() => { for (const s of [a, b]) { s.closeAllConnections(); s.close() } })
  let ip = '127.0.0.2'
  const asked: string[] = []
  const dnsLookup = ((host: string, opts: { all?: boolean }, cb: (err: Error | null, a: unknown, f?: number) => void): void => {
    asked.push(host)
    if (opts.all === true) cb(null, [{ address: ip, family: 4 }])
    else cb(null, ip, 4)
  }) as unknown as import('node:net').LookupFunction
  const c = new Consumer({
    ...quiet,
    topic,
    channel: 'ch',
    lookupdHttpAddresses: [`lookupd.test:${port}`],
    lookupdPollIntervalMs: 40,
    lookupdPollJitter: 0,
    lookupdDnsLookup: dnsLookup,
    closeUnlisted: true
  })
  t.teardown(() => c.close())
  await c.connect()
  await until(() => c.connectedAddresses.length === 1, 'connected through the lookupd at 127.0.0.2')
  t.same(c.connectedAddresses, [nodes[0]!.tcpAddress])
  ip = '127.0.0.3'
  await until(() => c.connectedAddresses.length === 1 && c.connectedAddresses[0] === nodes[1]!.tcpAddress, 'following the lookupd at 127.0.0.3', 5000)
  t.ok(asked.every((h) => h === 'lookupd.test') && asked.length >= 2, 'the name was resolved at each poll')
})
