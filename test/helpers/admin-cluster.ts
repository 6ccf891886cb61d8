// Test helpers for nsqadmin: a real cluster in-process (nsqlookupd + nsqd nodes registered with
// it over TCP) and an NSQAdmin pointed at it, all on 127.0.0.1 port 0, torn down by tap.

import { NSQLookupd } from '../../lookupd/nsqlookupd.js'
import { createCapturingLogger as lookupdLogger } from '../../lookupd/logger.js'
import { LookupPeers } from '../../nsqd/lookup/lookup-peers.js'
import type { Registration } from '../../nsqd/lookup/lookup-peers.js'
import type { NSQD } from '../../nsqd/nsqd.js'
import type { Options as NsqdOptions } from '../../nsqd/options.js'
import { NSQAdmin } from '../../admin/nsqadmin.js'
import type { Options as AdminOptions } from '../../admin/options.js'
import { createCapturingLogger as adminLogger } from '../../admin/logger.js'
import { startNSQD } from './nsqd.js'

export interface TapLike {
  teardown (fn: () => unknown): void
  passing? (): boolean
}

export async function startLookupd (t: TapLike): Promise<NSQLookupd> {
  const logger = lookupdLogger('info')
  const l = new NSQLookupd({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', broadcastAddress: '127.0.0.1', logger })
  await l.start()
  t.teardown(async () => { await l.close() })
  return l
}

export interface ClusterNode {
  nsqd: NSQD
  peers: LookupPeers | null
  /** <broadcast_address>:<http_port>, the admin's name for the node */
  node: string
  httpAddress: string
  /** Stops the nsqd (and its lookupd registration) as a crash or shutdown would. */
  stop (): Promise<void>
}

function registrations (nsqd: NSQD): Registration[] {
  const out: Registration[] = []
  for (const [name, topic] of nsqd.topics) {
    if (topic.channels.size === 0) out.push({ topic: name })
    for (const ch of topic.channels.keys()) out.push({ topic: name, channel: ch })
  }
  return out
}

/** An nsqd on 127.0.0.1, registered with the given lookupds (through nsqd's own lookup client). */
export async function startNode (t: TapLike, lookupds: NSQLookupd[], opts: Partial<NsqdOptions> = {}): Promise<ClusterNode> {
  const nsqd = await startNSQD(t, { broadcastAddress: '127.0.0.1', ...opts })
  const httpPort = Number(nsqd.httpAddress.slice(nsqd.httpAddress.lastIndexOf(':') + 1))
  const tcpPort = Number(nsqd.tcpAddress.slice(nsqd.tcpAddress.lastIndexOf(':') + 1))
  let peers: LookupPeers | null = null
  if (lookupds.length > 0) {
    const quiet = { debug () {}, info () {}, warn () {}, error () {} }
    peers = new LookupPeers({
      lookupdTcpAddresses: lookupds.map((l) => l.tcpAddress.address),
      broadcastAddress: '127.0.0.1',
      tcpPort,
      httpPort,
      version: '1.3.0',
      hostname: `nsqd-${httpPort}`,
      pingIntervalMs: 200,
      reconnectDelayMs: 50,
      logger: quiet
    }, () => registrations(nsqd))
    const p = peers
    nsqd.onChange((kind, topic, channel) => {
      if (kind === 'topic-created') p.notify('register', topic.name)
      else if (kind === 'channel-created' && channel !== null) p.notify('register', topic.name, channel.name)
      else if (kind === 'channel-deleted' && channel !== null) p.notify('unregister', topic.name, channel.name)
      else if (kind === 'topic-deleted') p.notify('unregister', topic.name)
    })
    p.start()
  }
  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    peers?.close()
    await nsqd.close()
  }
  t.teardown(stop)
  return { nsqd, peers, node: `127.0.0.1:${httpPort}`, httpAddress: nsqd.httpAddress, stop }
}

export async function startAdmin (t: TapLike, opts: Partial<AdminOptions>): Promise<NSQAdmin & { lines: string[] }> {
  const logger = adminLogger('debug')
  const admin = new NSQAdmin({
    httpAddress: '127.0.0.1:0',
    logger,
    httpClientConnectTimeoutMs: 500,
    httpClientRequestTimeoutMs: 1500,
    historyIntervalMs: 0,
    ...opts
  })
  await admin.start()
  t.teardown(async () => {
    await admin.close()
    if (t.passing !== undefined && !t.passing() && process.env.NSQ_TEST_LOGS !== undefined) process.stderr.write(logger.lines.join(''))
  })
  return Object.assign(admin, { lines: logger.lines })
}

/** Polls fn until it returns true (no fixed sleeps); fails with `what` after timeoutMs. */
export async function until (fn: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await fn()) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** POST /pub on an nsqd's HTTP API. */
export async function publish (httpAddress: string, topic: string, body: string): Promise<void> {
  const res = await fetch(`http://${httpAddress}/pub?topic=${encodeURIComponent(topic)}`, { method: 'POST', body })
  if (res.status !== 200) throw new Error(`publish failed: ${res.status} ${await res.text()}`)
}

/** POST /mpub (text mode, one message per line) on an nsqd's HTTP API. */
export async function publishMany (httpAddress: string, topic: string, bodies: string[]): Promise<void> {
  const res = await fetch(`http://${httpAddress}/mpub?topic=${encodeURIComponent(topic)}`, { method: 'POST', body: bodies.join('\n') })
  if (res.status !== 200) throw new Error(`mpub failed: ${res.status} ${await res.text()}`)
}
