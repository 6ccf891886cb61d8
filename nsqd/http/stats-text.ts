// The text form of GET /stats (nsqd-http.md §7): for humans and watch-style scripts; NSQ's tools
// read the JSON form. Layout and padding follow nsqd's printStats.

import { formatDuration } from '../../client/wire/duration.js'
import type { ClientStats, MemStats, StatsSnapshot } from '../stats.js'
import type { LatencyResult } from '../e2e-latency.js'

function padEnd (v: string | number, width: number): string {
  return String(v).padEnd(width)
}

/** Go's %-Ns: the width counts runes, not UTF-16 units. */
function padRunes (s: string, width: number): string {
  const runes = Array.from(s).length
  return runes >= width ? s : s + ' '.repeat(width - runes)
}

/** strconv.FormatFloat(v, 'f', 1, 64): like toFixed(1), but an exact tie rounds to even (x.25 → x.2). */
function fixed1 (v: number): string {
  const f = v - Math.floor(v)
  if (f === 0.25 && v < 2 ** 50) return `${Math.floor(v)}.2`
  return v.toFixed(1)
}

/** NSQ's NanoSecondToHuman: one decimal and the largest unit the value exceeds. */
export function nsToHuman (ns: number): string {
  if (ns > 1e9) return `${fixed1(ns / 1e9)}s`
  if (ns > 1e6) return `${fixed1(ns / 1e6)}ms`
  if (ns > 1e3) return `${fixed1(ns / 1e3)}us`
  return `${fixed1(ns)}ns`
}

/** time.Time.Format(time.RFC3339) in the local zone, as nsqd prints its start time. */
export function rfc3339Local (ms: number): string {
  const d = new Date(ms)
  const p = (n: number, w = 2): string => String(n).padStart(w, '0')
  const off = -d.getTimezoneOffset()
  const zone = off === 0 ? 'Z' : `${off < 0 ? '-' : '+'}${p(Math.floor(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`
  return `${p(d.getFullYear(), 4)}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}${zone}`
}

/**
 * Milliseconds since `startTimeMs` with sub-millisecond precision (Go's uptime prints nanoseconds):
 * the two epoch times are subtracted first, so no precision is lost to their size.
 */
function uptimeMs (startTimeMs: number): number {
  return (performance.timeOrigin - startTimeMs) + performance.now()
}

function e2eText (r: LatencyResult): string {
  return r.percentiles === null ? '' : r.percentiles.map((p) => nsToHuman(p.value)).join(', ')
}

function portOf (remote: string): string {
  const i = remote.lastIndexOf(':')
  return i < 0 ? '' : remote.slice(i + 1)
}

function connectedFor (c: ClientStats, nowMs: number): string {
  return formatDuration(Math.max(0, Math.floor(nowMs / 1000) - c.connect_ts) * 1000)
}

/**
 * nsqd's ClientStats.String: a connection with pub_counts gets the producer form, any other the
 * consumer form, wherever it is listed (a consumer that also published shows its counts).
 */
function clientLine (c: ClientStats, nowMs: number): string {
  const id = padRunes(`${c.hostname}:${portOf(c.remote_address)} ${c.user_agent}`, 21)
  const counts = c.pub_counts ?? []
  if (counts.length > 0) {
    const total = counts.reduce((n, p) => n + p.count, 0)
    const topics = counts.map((p) => `${p.topic}=${p.count}`).join(',')
    return `[V2 ${id}] msgs: ${padEnd(total, 8)} topics: ${topics} connected: ${connectedFor(c, nowMs)}`
  }
  return `[V2 ${id}] state: ${c.state} inflt: ${padEnd(c.in_flight_count, 4)} rdy: ${padEnd(c.ready_count, 4)} ` +
    `fin: ${padEnd(c.finish_count, 8)} re-q: ${padEnd(c.requeue_count, 8)} msgs: ${padEnd(c.message_count, 8)} ` +
    `connected: ${connectedFor(c, nowMs)}`
}

/** Bounded queues (not in NSQ): " limit: 100 msgs 0 bytes refuse bytes: 1234 dropped: 0". */
function capText (q: { queue_bytes?: number, max_queue_messages?: number, max_queue_bytes?: number, queue_full_policy?: string, full_drop_count?: number }): string {
  return ` limit: ${q.max_queue_messages ?? 0} msgs ${q.max_queue_bytes ?? 0} bytes ${q.queue_full_policy ?? 'refuse'} bytes: ${q.queue_bytes ?? 0} dropped: ${q.full_drop_count ?? 0}`
}

export function statsText (version: string, snap: StatsSnapshot, mem: MemStats | null, health: string, startTimeMs: number, nowMs?: number): string {
  const uptime = nowMs === undefined ? uptimeMs(startTimeMs) : nowMs - startTimeMs
  if (nowMs === undefined) nowMs = Date.now()
  const out: string[] = []
  out.push(`nsqd v${version} (built w/node ${process.version})\n`)
  out.push(`start_time ${rfc3339Local(startTimeMs)}\n`)
  out.push(`uptime ${formatDuration(Math.max(0, Math.round(uptime * 1e6)) / 1e6)}\n`)
  out.push(`\nHealth: ${health}\n`)
  if (mem !== null) {
    out.push('\nMemory:\n')
    for (const [k, v] of Object.entries(mem)) out.push(`   ${padEnd(k, 25)}\t${v as number}\n`)
  }
  const topics = snap.topics ?? []
  out.push(topics.length === 0 ? '\nTopics: None\n' : '\nTopics:')
  for (const t of topics) {
    out.push(`\n${t.paused ? '*P ' : '   '}[${padEnd(t.topic_name, 15)}] depth: ${padEnd(t.depth, 5)} be-depth: ${padEnd(t.backend_depth, 5)} msgs: ${padEnd(t.message_count, 8)} e2e%: ${e2eText(t.e2e_processing_latency)}` +
      (t.full_drop_count !== undefined ? `${capText(t)} refused: ${t.full_refused_count ?? 0}\n` : '\n'))
    for (const c of t.channels) {
      out.push(`${c.paused ? '   *P ' : '      '}[${padEnd(c.channel_name, 25)}] depth: ${padEnd(c.depth, 5)} be-depth: ${padEnd(c.backend_depth, 5)} ` +
        `inflt: ${padEnd(c.in_flight_count, 4)} def: ${padEnd(c.deferred_count, 4)} re-q: ${padEnd(c.requeue_count, 5)} ` +
        `timeout: ${padEnd(c.timeout_count, 5)} msgs: ${padEnd(c.message_count, 8)} e2e%: ${e2eText(c.e2e_processing_latency)}` +
        (c.dead_letter_count !== undefined ? ` dead: ${c.dead_letter_count} expired: ${c.expired_count ?? 0}` : '') +
        (c.full_drop_count !== undefined ? `${capText(c)}\n` : '\n'))
      for (const client of c.clients ?? []) out.push(`        ${clientLine(client, nowMs)}\n`)
    }
  }
  const producers = snap.producers ?? []
  if (producers.length === 0) {
    out.push('\nProducers: None\n')
  } else {
    out.push('\nProducers:\n')
    for (const p of producers) out.push(`   ${clientLine(p, nowMs)}\n`)
  }
  return out.join('')
}
