// The text form of GET /stats (nsqd-http.md §7): for humans and watch-style scripts; NSQ's tools
// read the JSON form. Layout and padding follow nsqd's printStats.

import { formatDuration } from '../../client/wire/duration.js'
import type { ClientStats, MemStats, StatsSnapshot } from '../stats.js'
import type { LatencyResult } from '../e2e-latency.js'

function padEnd (v: string | number, width: number): string {
  return String(v).padEnd(width)
}

/** NSQ's NanoSecondToHuman: one decimal and the largest fitting unit. */
export function nsToHuman (ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(1)}s`
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(1)}ms`
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(1)}us`
  return `${ns.toFixed(1)}ns`
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

function clientLine (c: ClientStats, nowMs: number): string {
  const who = padEnd(`${c.hostname}:${portOf(c.remote_address)} ${c.user_agent}`, 21)
  return `[V2 ${who}] state: ${c.state} inflt: ${padEnd(c.in_flight_count, 4)} rdy: ${padEnd(c.ready_count, 4)} ` +
    `fin: ${padEnd(c.finish_count, 8)} re-q: ${padEnd(c.requeue_count, 8)} msgs: ${padEnd(c.message_count, 8)} ` +
    `connected: ${connectedFor(c, nowMs)}`
}

function producerLine (c: ClientStats, nowMs: number): string {
  const counts = c.pub_counts ?? []
  const total = counts.reduce((n, p) => n + p.count, 0)
  const topics = counts.map((p) => `${p.topic}=${p.count}`).join(',')
  return `[V2 ${c.hostname}:${portOf(c.remote_address)} ${c.user_agent}] msgs: ${padEnd(total, 8)} topics: ${topics} connected: ${connectedFor(c, nowMs)}`
}

export function statsText (version: string, snap: StatsSnapshot, mem: MemStats | null, health: string, startTimeMs: number, nowMs = Date.now()): string {
  const out: string[] = []
  out.push(`nsqd v${version} (built w/node ${process.version})\n`)
  out.push(`start_time ${new Date(startTimeMs).toISOString().replace(/\.\d+Z$/, 'Z')}\n`)
  out.push(`uptime ${formatDuration(nowMs - startTimeMs)}\n`)
  out.push(`\nHealth: ${health}\n`)
  if (mem !== null) {
    out.push('\nMemory:\n')
    for (const [k, v] of Object.entries(mem)) out.push(`   ${padEnd(k, 25)}\t${v as number}\n`)
  }
  const topics = snap.topics ?? []
  out.push(topics.length === 0 ? '\nTopics: None\n' : '\nTopics:')
  for (const t of topics) {
    out.push(`\n${t.paused ? '*P ' : '   '}[${padEnd(t.topic_name, 15)}] depth: ${padEnd(t.depth, 5)} be-depth: ${padEnd(t.backend_depth, 5)} msgs: ${padEnd(t.message_count, 8)} e2e%: ${e2eText(t.e2e_processing_latency)}\n`)
    for (const c of t.channels) {
      out.push(`${c.paused ? '   *P ' : '      '}[${padEnd(c.channel_name, 25)}] depth: ${padEnd(c.depth, 5)} be-depth: ${padEnd(c.backend_depth, 5)} ` +
        `inflt: ${padEnd(c.in_flight_count, 4)} def: ${padEnd(c.deferred_count, 4)} re-q: ${padEnd(c.requeue_count, 5)} ` +
        `timeout: ${padEnd(c.timeout_count, 5)} msgs: ${padEnd(c.message_count, 8)} e2e%: ${e2eText(c.e2e_processing_latency)}\n`)
      for (const client of c.clients ?? []) out.push(`        ${clientLine(client, nowMs)}\n`)
    }
  }
  const producers = snap.producers ?? []
  if (producers.length === 0) {
    out.push('\nProducers: None\n')
  } else {
    out.push('\nProducers:\n')
    for (const p of producers) out.push(`   ${producerLine(p, nowMs)}\n`)
  }
  return out.join('')
}
