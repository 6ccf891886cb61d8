// nsqd's lookupd client (nsqd/lookup) against real in-process nsqlookupds: IDENTIFY and full
// registration on connect, notifications, PINGs keeping the producer active, re-registration after
// a lookupd restart, runtime address swaps, and the /channels union used to pre-create channels.

import t from 'tap'
import { NSQLookupd } from '../../lookupd/nsqlookupd.js'
import type { Options } from '../../lookupd/options.js'
import { createCapturingLogger } from '../../lookupd/logger.js'
import { LookupPeers } from '../../nsqd/lookup/lookup-peers.js'
import type { LookupPeersOptions, Registration } from '../../nsqd/lookup/lookup-peers.js'

interface TapLike {
  teardown (fn: () => unknown): void
  passing (): boolean
}

async function startLookupd (t: TapLike, opts: Partial<Options> = {}): Promise<NSQLookupd> {
  const logger = createCapturingLogger()
  const l = new NSQLookupd({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', broadcastAddress: '127.0.0.1', logger, ...opts })
  await l.start()
  t.teardown(async () => {
    await l.close()
    if (!t.passing()) process.stderr.write(logger.lines.join(''))
  })
  return l
}

function startPeers (t: TapLike, addrs: string[], regs: Registration[], extra: Partial<LookupPeersOptions> = {}): LookupPeers & { lines: string[] } {
  const lines: string[] = []
  const log = (lvl: string) => (m: string): void => { lines.push(`${lvl}: ${m}\n`) }
  const peers = new LookupPeers({
    lookupdTcpAddresses: addrs,
    broadcastAddress: 'nsqd-a.example',
    tcpPort: 4150,
    httpPort: 4151,
    version: '1.3.0',
    hostname: 'nsqd-a',
    pingIntervalMs: 50,
    reconnectDelayMs: 50,
    logger: { debug: log('DEBUG'), info: log('INFO'), warn: log('WARN'), error: log('ERROR') },
    ...extra
  }, () => regs)
  peers.start()
  t.teardown(() => {
    peers.close()
    if (!t.passing()) process.stderr.write(lines.join(''))
  })
  return Object.assign(peers, { lines })
}

async function until (pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 4000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

async function get (l: NSQLookupd, url: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = await l.httpServer.inject({ method: 'GET', url })
  return r.statusCode === 200 ? r.json() : { status: r.statusCode, body: r.body }
}

const sorted = (xs: string[]): string[] => [...xs].sort()

t.test('registers everything on connect, keeps pinging, follows notifications', async (t) => {
  const l = await startLookupd(t, { inactiveProducerTimeoutMs: 400 })
  const regs: Registration[] = [{ topic: 'solo' }, { topic: 'orders', channel: 'billing' }, { topic: 'orders', channel: 'tmp#ephemeral' }]
  const peers = startPeers(t, [l.tcpAddress.address], regs)
  // The REGISTERs go one at a time: wait for the last one before comparing.
  await until(async () => (await get(l, '/channels?topic=orders')).channels?.length === 2, 'everything registered')
  t.same(sorted((await get(l, '/topics')).topics), ['orders', 'solo'])
  t.same(sorted((await get(l, '/channels?topic=orders')).channels), ['billing', 'tmp#ephemeral'])
  const lookup = await get(l, '/lookup?topic=solo')
  t.equal(lookup.producers.length, 1)
  t.match(lookup.producers[0], { hostname: 'nsqd-a', broadcast_address: 'nsqd-a.example', tcp_port: 4150, http_port: 4151, version: '1.3.0', topology_zone: '', topology_region: '' })
  t.same(peers.httpAddresses, [l.httpAddress.address], 'lookupd HTTP address learned from IDENTIFY')
  t.match(peers.status[0], { address: l.tcpAddress.address, connected: true, info: { broadcastAddress: '127.0.0.1', httpPort: l.httpAddress.port, tcpPort: l.tcpAddress.port, version: '1.3.0' } })

  // pings keep the producer active past the inactivity timeout
  const peerInfo = l.db.activePeers(Date.now(), 400)[0]!
  const firstUpdate = peerInfo.lastUpdateMs
  await until(() => peerInfo.lastUpdateMs - firstUpdate > 450, 'PINGs beyond the inactivity timeout')
  t.equal((await get(l, '/lookup?topic=solo')).producers.length, 1, 'still active thanks to PINGs')

  peers.notify('register', 'fresh')
  peers.notify('register', 'fresh', 'ch1')
  await until(async () => (await get(l, '/channels?topic=fresh')).channels.length === 1, 'notified channel')
  t.equal((await get(l, '/lookup?topic=fresh')).producers.length, 1)
  peers.notify('unregister', 'fresh', 'ch1')
  await until(async () => l.db.producers('channel', 'fresh', 'ch1').length === 0, 'channel unregistered')
  peers.notify('unregister', 'orders', 'tmp#ephemeral')
  await until(async () => !(await get(l, '/channels?topic=orders')).channels.includes('tmp#ephemeral'), 'ephemeral channel gone')
  peers.notify('unregister', 'fresh')
  await until(async () => (await get(l, '/lookup?topic=fresh')).producers.length === 0, 'topic unregistered')

  peers.close()
  await until(async () => (await get(l, '/nodes')).producers.length === 0, 'disconnect on close')
})

t.test('re-registers after a lookupd restart on the same port', async (t) => {
  const l1 = await startLookupd(t)
  const port = l1.tcpAddress.port
  const regs: Registration[] = [{ topic: 'keep', channel: 'c' }]
  startPeers(t, [l1.tcpAddress.address], regs)
  await until(async () => (await get(l1, '/lookup?topic=keep')).producers?.length === 1, 'first registration')
  await l1.close()
  regs.push({ topic: 'added-while-down' })
  const l2 = await startLookupd(t, { tcpAddress: `127.0.0.1:${port}` })
  await until(async () => (await get(l2, '/lookup?topic=keep')).producers?.length === 1, 're-registration after restart')
  // The REGISTERs after a reconnect go one at a time: wait for the last one before comparing.
  await until(async () => (await get(l2, '/topics')).topics.length >= 2, 'every registration after restart')
  t.same(sorted((await get(l2, '/topics')).topics), ['added-while-down', 'keep'], 'current state registered, not a stale copy')
  t.same((await get(l2, '/channels?topic=keep')).channels, ['c'])
})

t.test('a lookupd that is down at start is picked up by later pings', async (t) => {
  const probe = await startLookupd(t)
  const port = probe.tcpAddress.port
  await probe.close()
  const peers = startPeers(t, [`127.0.0.1:${port}`], [{ topic: 'late' }])
  await until(() => peers.lines.some((x) => x.startsWith('ERROR: LOOKUP(')), 'a logged connect error')
  const l = await startLookupd(t, { tcpAddress: `127.0.0.1:${port}` })
  await until(async () => (await get(l, '/lookup?topic=late')).producers?.length === 1, 'registration after lookupd came up')
})

t.test('setAddresses swaps lookupds at runtime', async (t) => {
  const a = await startLookupd(t)
  const b = await startLookupd(t)
  const peers = startPeers(t, [a.tcpAddress.address], [{ topic: 'swap' }])
  await until(async () => (await get(a, '/lookup?topic=swap')).producers?.length === 1, 'registered with a')
  peers.setAddresses([b.tcpAddress.address])
  t.same(peers.addresses, [b.tcpAddress.address])
  await until(async () => (await get(b, '/lookup?topic=swap')).producers?.length === 1, 'registered with b')
  await until(async () => (await get(a, '/nodes')).producers.length === 0, 'disconnected from a')
  peers.setAddresses([b.tcpAddress.address, a.tcpAddress.address])
  await until(async () => (await get(a, '/lookup?topic=swap')).producers?.length === 1, 'registered with a again')
  t.equal((await get(b, '/nodes')).producers.length, 1, 'b connection kept')
})

t.test('lookupChannels: union over lookupds, no #ephemeral, failures ignored', async (t) => {
  const a = await startLookupd(t)
  const b = await startLookupd(t)
  await a.httpServer.inject({ method: 'POST', url: '/channel/create?topic=new&channel=alpha' })
  await a.httpServer.inject({ method: 'POST', url: '/channel/create?topic=new&channel=eph%23ephemeral' })
  await b.httpServer.inject({ method: 'POST', url: '/channel/create?topic=new&channel=beta' })
  await b.httpServer.inject({ method: 'POST', url: '/channel/create?topic=new&channel=alpha' })
  const peers = startPeers(t, [a.tcpAddress.address, b.tcpAddress.address], [])
  await until(() => peers.httpAddresses.length === 2, 'both identified')
  t.same(await peers.lookupChannels('new'), ['alpha', 'beta'])
  t.same(await peers.lookupChannels('unknown'), [])
  await b.close()
  t.same(await peers.lookupChannels('new'), ['alpha'], 'the failing lookupd is skipped')
  t.ok(peers.lines.some((x) => x.startsWith('WARN: failed to query nsqlookupd')), 'failure logged')
})

t.test('lookupChannels with no identified lookupd logs an error and returns []', async (t) => {
  const probe = await startLookupd(t)
  const port = probe.tcpAddress.port
  await probe.close()
  const peers = startPeers(t, [`127.0.0.1:${port}`], [])
  t.same(await peers.lookupChannels('x'), [])
  t.ok(peers.lines.some((x) => x.includes('no available nsqlookupd to query for channels')))
  const none = startPeers(t, [], [])
  t.same(await none.lookupChannels('x'), [])
})

t.test('lookupChannels right after start waits for the first IDENTIFY (beyond NSQ)', async (t) => {
  const a = await startLookupd(t)
  await a.httpServer.inject({ method: 'POST', url: '/channel/create?topic=early&channel=alpha' })
  const peers = startPeers(t, [a.tcpAddress.address], [])
  t.equal(peers.httpAddresses.length, 0, 'not identified yet')
  t.same(await peers.lookupChannels('early'), ['alpha'], 'a topic created at start-up still gets its channels')
})

// nsq#1233: a lookupd host name is resolved again on every dial and at every PING. The stub stands
// in for DNS: "lookupd.test" first answers 127.0.0.2, then 127.0.0.3 once the lookupd has moved.
function movableResolver (): { lookup: import('node:net').LookupFunction, to: (ip: string) => void, calls: string[] } {
  let ip = '127.0.0.2'
  const calls: string[] = []
  const lookup = ((host: string, opts: { all?: boolean }, cb: (err: Error | null, a: unknown, f?: number) => void): void => {
    calls.push(host)
    if (host !== 'lookupd.test') { cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }), ''); return }
    if (opts.all === true) cb(null, [{ address: ip, family: 4 }])
    else cb(null, ip, 4)
  }) as unknown as import('node:net').LookupFunction
  return { lookup, to: (next) => { ip = next }, calls }
}

t.test('a lookupd that moves to a new IP (restarted elsewhere) is found again on reconnect', async (t) => {
  const l1 = await startLookupd(t, { tcpAddress: '127.0.0.2:0' })
  const port = l1.tcpAddress.port
  const dns = movableResolver()
  const peers = startPeers(t, [`lookupd.test:${port}`], [{ topic: 'moving' }], { dnsLookup: dns.lookup })
  await until(async () => (await get(l1, '/lookup?topic=moving')).producers?.length === 1, 'registered at 127.0.0.2')
  await l1.close()
  dns.to('127.0.0.3')
  const l2 = await startLookupd(t, { tcpAddress: `127.0.0.3:${port}` })
  await until(async () => (await get(l2, '/lookup?topic=moving')).producers?.length === 1, 'registered at 127.0.0.3')
  t.same(peers.addresses, [`lookupd.test:${port}`], 'the configured name is kept')
  t.ok(dns.calls.length >= 2, 'the name was resolved again')
})

t.test('a PING re-resolves the name and leaves a lookupd whose IP is no longer the answer', async (t) => {
  const l1 = await startLookupd(t, { tcpAddress: '127.0.0.2:0' })
  const port = l1.tcpAddress.port
  const l2 = await startLookupd(t, { tcpAddress: `127.0.0.3:${port}` })
  const dns = movableResolver()
  const peers = startPeers(t, [`lookupd.test:${port}`], [{ topic: 'dns' }], { dnsLookup: dns.lookup })
  await until(async () => (await get(l1, '/lookup?topic=dns')).producers?.length === 1, 'registered at 127.0.0.2')
  t.equal((await get(l2, '/topics')).topics.length, 0, 'nothing at 127.0.0.3 yet')
  dns.to('127.0.0.3') // the old lookupd stays up: only the re-resolution at the next PING can notice
  await until(async () => (await get(l2, '/lookup?topic=dns')).producers?.length === 1, 'registered at 127.0.0.3 after a PING')
  await until(async () => (await get(l1, '/nodes')).producers.length === 0, 'the connection to 127.0.0.2 was closed')
  t.ok(peers.lines.some((x) => x.startsWith(`WARN: LOOKUP(lookupd.test:${port}): lookupd.test moved from 127.0.0.2 to 127.0.0.3`)), 'the move is logged')
})

t.test('an unchanged answer keeps the connection (no reconnect per PING)', async (t) => {
  const l1 = await startLookupd(t, { tcpAddress: '127.0.0.2:0' })
  const dns = movableResolver()
  const peers = startPeers(t, [`lookupd.test:${l1.tcpAddress.port}`], [{ topic: 'stay' }], { dnsLookup: dns.lookup })
  await until(async () => (await get(l1, '/lookup?topic=stay')).producers?.length === 1, 'registered')
  const before = dns.calls.length
  await until(() => dns.calls.length >= before + 3, 'three more PING re-resolutions')
  t.equal(peers.lines.filter((x) => x.includes(': IDENTIFY')).length, 1, 'one IDENTIFY: the connection was kept')
})
