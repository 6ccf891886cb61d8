#!/usr/bin/env node
// nsq_stat: polls /stats of every nsqd that has the topic and prints one line of aggregate channel
// statistics per interval (the first sample is the baseline), with a header every 25 lines.

import type { FlagSpec } from '../wire/flags.js'
import { lookupAll, lookupdUrl } from '../lookup.js'
import { ToolError, logLine, onSignals, parseToolFlags, run } from './common.js'

const TOOL = 'nsq_stat'

const SPECS: FlagSpec[] = [
  { name: 'topic', kind: 'string', default: '', usage: 'NSQ topic' },
  { name: 'channel', kind: 'string', default: '', usage: 'NSQ channel' },
  { name: 'nsqd-http-address', kind: 'strings', default: [], usage: 'nsqd HTTP address (may be given multiple times)' },
  { name: 'lookupd-http-address', kind: 'strings', default: [], usage: 'lookupd HTTP address (may be given multiple times)' },
  { name: 'interval', kind: 'duration', default: 2000, usage: 'duration of time between polling/printing output' },
  { name: 'status-every', kind: 'duration', default: 0, usage: 'same as --interval (overrides it when set)' },
  { name: 'count', kind: 'int', default: 0, usage: 'number of reports (0 = unlimited)' },
  { name: 'http-client-connect-timeout', kind: 'duration', default: 2000, usage: 'timeout for HTTP connect' },
  { name: 'http-client-request-timeout', kind: 'duration', default: 5000, usage: 'timeout for HTTP request' }
]

interface ChannelSample {
  depth: number
  memoryDepth: number
  backendDepth: number
  inFlight: number
  deferred: number
  requeue: number
  timeout: number
  messages: number
  clients: number
}

const HEADER = '------rate------+----------------depth----------------+--------------metadata---------------\n' +
  'ingress  egress |   total     mem    disk inflt   def |     req     t-o         msgs clients\n'

function pad (n: number, w: number): string {
  return String(Math.trunc(n)).padStart(w, ' ')
}

function formatRow (prev: ChannelSample, cur: ChannelSample, intervalMs: number): string {
  const secs = intervalMs / 1000
  const ingress = (cur.messages - prev.messages) / secs
  const egress = ((cur.messages - prev.messages) - (cur.depth - prev.depth)) / secs
  return `${pad(ingress, 7)} ${pad(egress, 7)} | ${pad(cur.depth, 7)} ${pad(cur.memoryDepth, 7)} ${pad(cur.backendDepth, 7)} ${pad(cur.inFlight, 5)} ${pad(cur.deferred, 5)} | ${pad(cur.requeue, 7)} ${pad(cur.timeout, 7)} ${pad(cur.messages, 12)} ${pad(cur.clients, 7)}\n`
}

async function getJson (url: string, timeoutMs: number): Promise<unknown> {
  let res: Response
  try {
    res = await fetch(url, { headers: { Accept: 'application/vnd.nsq; version=1.0' }, signal: AbortSignal.timeout(timeoutMs) })
  } catch (err) {
    const e = err as Error
    throw new Error(`GET ${url} failed: ${e.name === 'TimeoutError' ? `timed out after ${timeoutMs}ms` : (e.cause as Error | undefined)?.message ?? e.message}`)
  }
  const text = await res.text()
  if (res.status !== 200) throw new Error(`GET ${url} returned ${res.status}: ${text.slice(0, 200)}`)
  try {
    return JSON.parse(text)
  } catch {
    throw new Error(`GET ${url} returned invalid JSON`)
  }
}

type Json = Record<string, unknown>

function n (v: unknown): number {
  return typeof v === 'number' ? v : 0
}

/** Sums the channel over the nsqds' /stats answers; null if no nsqd has it. */
function sumChannel (answers: unknown[], topic: string, channel: string): ChannelSample | null {
  let found = false
  const s: ChannelSample = { depth: 0, memoryDepth: 0, backendDepth: 0, inFlight: 0, deferred: 0, requeue: 0, timeout: 0, messages: 0, clients: 0 }
  for (const a of answers) {
    const body = (a as Json)?.data !== undefined && (a as Json).topics === undefined ? (a as Json).data : a
    const topics = (body as Json)?.topics
    if (!Array.isArray(topics)) continue
    for (const t of topics as Json[]) {
      if (t.topic_name !== topic || !Array.isArray(t.channels)) continue
      for (const c of t.channels as Json[]) {
        if (c.channel_name !== channel) continue
        found = true
        s.depth += n(c.depth)
        s.backendDepth += n(c.backend_depth)
        s.memoryDepth += n(c.depth) - n(c.backend_depth)
        s.inFlight += n(c.in_flight_count)
        s.deferred += n(c.deferred_count)
        s.requeue += n(c.requeue_count)
        s.timeout += n(c.timeout_count)
        s.messages += n(c.message_count)
        s.clients += n(c.client_count)
      }
    }
  }
  return found ? s : null
}

run(TOOL, async () => {
  const f = parseToolFlags(TOOL, SPECS, process.argv.slice(2))
  const topic = f.topic as string
  const channel = f.channel as string
  const nsqd = f['nsqd-http-address'] as string[]
  const lookupd = f['lookupd-http-address'] as string[]
  const intervalMs = (f['status-every'] as number) > 0 ? f['status-every'] as number : f.interval as number
  const count = f.count as number
  const timeoutMs = (f['http-client-connect-timeout'] as number) + (f['http-client-request-timeout'] as number)
  if (topic === '' || channel === '') throw new ToolError('--topic and --channel are required')
  if (nsqd.length > 0 && lookupd.length > 0) throw new ToolError('use --nsqd-http-address or --lookupd-http-address not both')
  if (nsqd.length === 0 && lookupd.length === 0) throw new ToolError('--nsqd-http-address or --lookupd-http-address required')
  for (const a of [...nsqd, ...lookupd]) if (/^[a-z][a-z0-9+.-]*:\/\//i.test(a)) throw new ToolError('address should not contain scheme')
  if (intervalMs <= 0) throw new ToolError('--interval must be > 0')
  if (count < 0) throw new ToolError('--count must be >= 0')

  let stopped = false
  onSignals(() => { stopped = true; process.exit(0) })

  const sample = async (): Promise<ChannelSample> => {
    let addrs = nsqd
    if (lookupd.length > 0) {
      const res = await lookupAll(lookupd, topic, { timeoutMs })
      for (const e of res.errors) logLine(TOOL, `ERROR: ${e.message}`)
      if (!res.ok) throw new Error('no lookupd answered')
      addrs = [...new Set([...res.producers.values()].map((p) => p.httpAddress))]
    }
    const answers = await Promise.all(addrs.map((a) => getJson(lookupdUrl(a, '/stats', { format: 'json', topic, channel, include_clients: 'false' }), timeoutMs)))
    const s = sumChannel(answers, topic, channel)
    if (s === null) throw new ToolError(`channel ${topic}/${channel} not found in the stats of ${addrs.length > 0 ? addrs.join(', ') : 'any nsqd'}`)
    return s
  }

  let prev = await sample()
  let printed = 0
  while (!stopped && (count === 0 || printed < count)) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
    const cur = await sample()
    if (printed % 25 === 0) process.stdout.write(HEADER)
    process.stdout.write(formatRow(prev, cur, intervalMs))
    prev = cur
    printed++
  }
  process.stdout.write('', () => { process.exit(0) })
})

