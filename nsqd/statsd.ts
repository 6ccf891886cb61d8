// statsd push (nsqd-internals.md §14): every --statsd-interval, the stats snapshot as statsd lines
// `<prefix><name>:<int>|c` (counter deltas since the previous push) or `|g` (gauges), packed into
// UDP datagrams of at most --statsd-udp-packet-size bytes without splitting a line, spread evenly
// over interval − 1 s, from a new UDP socket each interval.

import dgram from 'node:dgram'
import type { NSQD } from './nsqd.js'
import { getStats, memStats, type StatsSnapshot } from './stats.js'
import { isEphemeral } from '../client/wire/names.js'
import { parseListenAddress } from './tcp/server.js'
import type { LatencyResult } from './e2e-latency.js'
import { portOf } from './http/ping.js'

/** `<P>` of `e2e_processing_latency_<P>`: quantile × 100 rounded half to even, as Go's %.0f. */
export function percentileName (q: number): string {
  const x = q * 100
  let r = Math.round(x)
  if (Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0) r -= 1
  return String(r)
}

/** nsqd's statsd key prefix: %s → host key (<broadcast-address>_<http-port>, '.' and ':' → '_'). */
export function statsdPrefix (template: string, broadcastAddress: string, httpPort: number): string {
  const host = broadcastAddress.includes(':') ? `[${broadcastAddress}]` : broadcastAddress
  const hostKey = `${host}:${httpPort}`.replace(/[.:]/g, '_')
  let prefix = template.replaceAll('%s', hostKey)
  if (prefix !== '' && !prefix.endsWith('.')) prefix += '.'
  return prefix
}

/** Packs lines into datagrams of at most `size` bytes; a longer line goes alone. */
export function packLines (lines: readonly string[], size: number): Buffer[] {
  const out: Buffer[] = []
  let cur = ''
  for (const line of lines) {
    if (cur !== '' && Buffer.byteLength(cur) + Buffer.byteLength(line) > size) {
      out.push(Buffer.from(cur))
      cur = ''
    }
    cur += line
  }
  if (cur !== '') out.push(Buffer.from(cur))
  return out
}

interface TopicCounters { message_count: number, message_bytes: number, full_drop_count?: number, full_refused_count?: number }
interface ChannelCounters { message_count: number, requeue_count: number, timeout_count: number, dead_letter_count?: number, expired_count?: number, full_drop_count?: number }
interface Previous { topics: Map<string, TopicCounters>, channels: Map<string, ChannelCounters>, gcRuns: number }

/** The lines of one push; `prev` holds the counters of the previous one and is updated. */
export function statsdLines (snap: StatsSnapshot, prev: Previous, opts: { prefix: string, memStats: boolean, excludeEphemeral: boolean }): string[] {
  const p = opts.prefix
  const lines: string[] = []
  const g = (name: string, v: number): void => { lines.push(`${p}${name}:${Math.trunc(v)}|g\n`) }
  const c = (name: string, v: number): void => { lines.push(`${p}${name}:${Math.trunc(v)}|c\n`) }
  const e2e = (base: string, r: LatencyResult): void => {
    for (const q of r.percentiles ?? []) g(`${base}.e2e_processing_latency_${percentileName(q.quantile)}`, q.value)
  }
  const topics = new Map<string, TopicCounters>()
  const channels = new Map<string, ChannelCounters>()
  for (const t of snap.topics ?? []) {
    if (opts.excludeEphemeral && isEphemeral(t.topic_name)) continue
    const last = prev.topics.get(t.topic_name)
    const tk = `topic.${t.topic_name}`
    c(`${tk}.message_count`, t.message_count - (last?.message_count ?? 0))
    c(`${tk}.message_bytes`, t.message_bytes - (last?.message_bytes ?? 0))
    g(`${tk}.depth`, t.depth)
    g(`${tk}.backend_depth`, t.backend_depth)
    e2e(tk, t.e2e_processing_latency)
    // bounded queues (not in NSQ): only where a cap applies, so NSQ's lines are unchanged otherwise
    if (t.full_drop_count !== undefined) {
      g(`${tk}.queue_bytes`, t.queue_bytes ?? 0)
      c(`${tk}.full_drop_count`, t.full_drop_count - (last?.full_drop_count ?? 0))
      c(`${tk}.full_refused_count`, (t.full_refused_count ?? 0) - (last?.full_refused_count ?? 0))
    }
    topics.set(t.topic_name, { message_count: t.message_count, message_bytes: t.message_bytes, full_drop_count: t.full_drop_count, full_refused_count: t.full_refused_count })
    for (const ch of t.channels) {
      if (opts.excludeEphemeral && isEphemeral(ch.channel_name)) continue
      const key = `${t.topic_name}:${ch.channel_name}`
      const lc = prev.channels.get(key)
      const ck = `${tk}.channel.${ch.channel_name}`
      c(`${ck}.message_count`, ch.message_count - (lc?.message_count ?? 0))
      g(`${ck}.depth`, ch.depth)
      g(`${ck}.backend_depth`, ch.backend_depth)
      g(`${ck}.in_flight_count`, ch.in_flight_count)
      g(`${ck}.deferred_count`, ch.deferred_count)
      c(`${ck}.requeue_count`, ch.requeue_count - (lc?.requeue_count ?? 0))
      c(`${ck}.timeout_count`, ch.timeout_count - (lc?.timeout_count ?? 0))
      g(`${ck}.clients`, ch.client_count)
      e2e(ck, ch.e2e_processing_latency)
      // delivery policies and bounded queues (not in NSQ): only where one is set
      if (ch.dead_letter_count !== undefined) {
        c(`${ck}.dead_letter_count`, ch.dead_letter_count - (lc?.dead_letter_count ?? 0))
        c(`${ck}.expired_count`, (ch.expired_count ?? 0) - (lc?.expired_count ?? 0))
      }
      if (ch.full_drop_count !== undefined) {
        g(`${ck}.queue_bytes`, ch.queue_bytes ?? 0)
        c(`${ck}.full_drop_count`, ch.full_drop_count - (lc?.full_drop_count ?? 0))
      }
      channels.set(key, {
        message_count: ch.message_count,
        requeue_count: ch.requeue_count,
        timeout_count: ch.timeout_count,
        dead_letter_count: ch.dead_letter_count,
        expired_count: ch.expired_count,
        full_drop_count: ch.full_drop_count
      })
    }
  }
  prev.topics = topics
  prev.channels = channels
  if (opts.memStats) {
    const m = memStats()
    g('mem.heap_objects', m.heap_objects)
    g('mem.heap_idle_bytes', m.heap_idle_bytes)
    g('mem.heap_in_use_bytes', m.heap_in_use_bytes)
    g('mem.heap_released_bytes', m.heap_released_bytes)
    g('mem.gc_pause_usec_100', m.gc_pause_usec_100)
    g('mem.gc_pause_usec_99', m.gc_pause_usec_99)
    g('mem.gc_pause_usec_95', m.gc_pause_usec_95)
    g('mem.next_gc_bytes', m.next_gc_bytes)
    c('mem.gc_runs', m.gc_total_runs - prev.gcRuns)
    prev.gcRuns = m.gc_total_runs
  }
  return lines
}

export class StatsdPusher {
  private readonly nsqd: NSQD
  private timer: NodeJS.Timeout | null = null
  private readonly pending = new Set<NodeJS.Timeout>()
  private readonly sockets = new Set<dgram.Socket>()
  private readonly prev: Previous = { topics: new Map(), channels: new Map(), gcRuns: 0 }

  constructor (nsqd: NSQD) {
    this.nsqd = nsqd
  }

  start (): void {
    const interval = this.nsqd.options.statsdIntervalMs
    this.nsqd.logger.info(`STATSD: pushing to ${this.nsqd.options.statsdAddress} every ${interval}ms`)
    this.timer = setInterval(() => { this.push() }, interval)
    this.timer.unref()
  }

  stop (): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    for (const t of this.pending) clearTimeout(t)
    this.pending.clear()
    for (const s of this.sockets) s.close()
    this.sockets.clear()
  }

  /** One push: snapshot, lines, datagrams, sent over (interval − 1 s) from a fresh socket. */
  push (): void {
    const o = this.nsqd.options
    const target = parseListenAddress(o.statsdAddress)
    if ('path' in target) {
      this.nsqd.logger.error(`STATSD: invalid address ${o.statsdAddress}`)
      return
    }
    const httpPort = o.broadcastHttpPort > 0 ? o.broadcastHttpPort : Math.max(0, portOf(this.nsqd.httpAddress))
    const prefix = statsdPrefix(o.statsdPrefix, o.broadcastAddress, httpPort)
    const snap = getStats(this.nsqd, { includeClients: false })
    const lines = statsdLines(snap, this.prev, { prefix, memStats: o.statsdMemStats, excludeEphemeral: o.statsdExcludeEphemeral })
    const packets = packLines(lines, o.statsdUdpPacketSize)
    if (packets.length === 0) return
    const socket = dgram.createSocket(target.host.includes(':') ? 'udp6' : 'udp4')
    socket.on('error', (err) => { this.nsqd.logger.error(`STATSD: ${err.message}`) })
    socket.unref()
    this.sockets.add(socket)
    const spreadMs = Math.max(0, o.statsdIntervalMs - 1000) / packets.length
    let left = packets.length
    const send = (i: number): void => {
      socket.send(packets[i] as Buffer, target.port, target.host, (err) => {
        if (err !== null && err !== undefined) this.nsqd.logger.error(`STATSD: send failed - ${err.message}`)
        if (--left === 0 && this.sockets.delete(socket)) socket.close()
      })
    }
    for (let i = 0; i < packets.length; i++) {
      if (spreadMs === 0 || i === 0) { send(i); continue }
      const t = setTimeout(() => { this.pending.delete(t); send(i) }, i * spreadMs)
      t.unref()
      this.pending.add(t)
    }
  }
}
