// nsqlookupd HTTP queries and the consumer's discovery loop: every poll asks all lookupds at once,
// merges their producers keyed by broadcast_address:tcp_port, and reports the union. A lookupd that
// fails (network, timeout, bad status, unreadable JSON) gives a LOOKUP_FAILED error, never a crash.
// Every query opens a fresh connection (no keep-alive pool) and so resolves the lookupd's host name
// again (nsq#1233): a lookupd that moved to a new IP is found at the next poll.

import http from 'node:http'
import https from 'node:https'
import type { LookupFunction } from 'node:net'
import { NsqClientError } from './errors.js'
import { joinHostPort } from './transport.js'

export interface LookupProducer {
  broadcastAddress: string
  hostname: string
  tcpPort: number
  httpPort: number
  version: string
  /** broadcast_address:tcp_port, what a consumer dials. */
  tcpAddress: string
  /** broadcast_address:http_port. */
  httpAddress: string
}

export interface LookupRequestOptions {
  timeoutMs: number
  /** Name resolution for lookupd host names (dns.lookup's signature); dns.lookup when absent. */
  dnsLookup?: LookupFunction
}

/** http://<addr><path>?<query>; keeps a scheme and a path given in `addr`. */
export function lookupdUrl (addr: string, defaultPath: string, query: Record<string, string>): string {
  const withScheme = /^https?:\/\//i.test(addr) ? addr : `http://${addr}`
  const url = new URL(withScheme)
  if (url.pathname === '/' || url.pathname === '') url.pathname = defaultPath
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v)
  return url.toString()
}

/** One GET on a fresh connection: the host name is resolved for this request. */
function httpGet (url: string, o: LookupRequestOptions): Promise<{ status: number, text: string }> {
  const u = new URL(url)
  const mod = u.protocol === 'https:' ? https : http
  return new Promise((resolve, reject) => {
    const req = mod.request(u, {
      method: 'GET',
      agent: false,
      headers: { Accept: 'application/vnd.nsq; version=1.0', Connection: 'close' },
      ...(o.dnsLookup !== undefined ? { lookup: o.dnsLookup } : {})
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => { chunks.push(c) })
      res.on('end', () => { clearTimeout(timer); resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }) })
      res.on('error', (err) => { clearTimeout(timer); reject(Object.assign(err, { stage: 'read' })) })
    })
    const timer = setTimeout(() => { req.destroy(Object.assign(new Error(`timed out after ${o.timeoutMs}ms`), { name: 'TimeoutError' })) }, o.timeoutMs)
    req.on('error', (err) => { clearTimeout(timer); reject(err) })
    req.end()
  })
}

async function getJson (addr: string, url: string, o: LookupRequestOptions, allow404: boolean): Promise<unknown> {
  let res: { status: number, text: string }
  try {
    res = await httpGet(url, o)
  } catch (err) {
    const e = err as Error & { stage?: string }
    if (e.stage === 'read') throw new NsqClientError('LOOKUP_FAILED', `LOOKUP(${addr}): reading the response of GET ${url} failed: ${e.message}`, addr, { cause: err })
    const why = e.name === 'TimeoutError' ? `timed out after ${o.timeoutMs}ms` : e.message
    throw new NsqClientError('LOOKUP_FAILED', `LOOKUP(${addr}): GET ${url} failed: ${why}`, addr, { cause: err })
  }
  const text = res.text
  if (res.status === 404 && allow404) return null
  if (res.status !== 200) {
    throw new NsqClientError('LOOKUP_FAILED', `LOOKUP(${addr}): GET ${url} returned ${res.status}: ${text.slice(0, 200)}`, addr)
  }
  try {
    return JSON.parse(text)
  } catch {
    throw new NsqClientError('LOOKUP_FAILED', `LOOKUP(${addr}): GET ${url} returned invalid JSON: ${JSON.stringify(text.slice(0, 100))}`, addr)
  }
}

function isObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Bare V1 JSON, or the legacy {"data": {...}} envelope. */
function unwrap (v: unknown): Record<string, unknown> | null {
  if (!isObject(v)) return null
  if (isObject(v.data) && !('producers' in v) && !('topics' in v)) return v.data
  return v
}

function parsePort (v: unknown): number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 65536 ? v : 0
}

export function parseProducers (addr: string, body: unknown): LookupProducer[] {
  const obj = unwrap(body)
  if (obj === null || !Array.isArray(obj.producers)) {
    throw new NsqClientError('LOOKUP_FAILED', `LOOKUP(${addr}): response has no producers array`, addr)
  }
  const out: LookupProducer[] = []
  for (const p of obj.producers as unknown[]) {
    if (!isObject(p)) throw new NsqClientError('LOOKUP_FAILED', `LOOKUP(${addr}): producer entry is not an object`, addr)
    const host = typeof p.broadcast_address === 'string' && p.broadcast_address !== ''
      ? p.broadcast_address
      : typeof p.hostname === 'string' ? p.hostname : typeof p.address === 'string' ? p.address : ''
    const tcpPort = parsePort(p.tcp_port)
    if (host === '' || tcpPort === 0) {
      throw new NsqClientError('LOOKUP_FAILED', `LOOKUP(${addr}): producer entry without broadcast_address/tcp_port: ${JSON.stringify(p).slice(0, 200)}`, addr)
    }
    const httpPort = parsePort(p.http_port)
    out.push({
      broadcastAddress: host,
      hostname: typeof p.hostname === 'string' ? p.hostname : '',
      tcpPort,
      httpPort,
      version: typeof p.version === 'string' ? p.version : '',
      tcpAddress: joinHostPort(host, tcpPort),
      httpAddress: joinHostPort(host, httpPort)
    })
  }
  return out
}

/** GET /lookup?topic=T on one lookupd. An unknown topic (404) is an empty list. */
export async function lookupTopic (addr: string, topic: string, o: LookupRequestOptions): Promise<LookupProducer[]> {
  const body = await getJson(addr, lookupdUrl(addr, '/lookup', { topic }), o, true)
  if (body === null) return []
  return parseProducers(addr, body)
}

/** GET /topics on one lookupd. */
export async function lookupdTopics (addr: string, o: LookupRequestOptions): Promise<string[]> {
  const body = unwrap(await getJson(addr, lookupdUrl(addr, '/topics', {}), o, false))
  if (body === null || !Array.isArray(body.topics) || !body.topics.every((t) => typeof t === 'string')) {
    throw new NsqClientError('LOOKUP_FAILED', `LOOKUP(${addr}): /topics response has no topics array`, addr)
  }
  return body.topics as string[]
}

export interface MergedLookup {
  /** Union keyed by tcpAddress. */
  producers: Map<string, LookupProducer>
  errors: NsqClientError[]
  /** At least one lookupd answered: `producers` is authoritative. */
  ok: boolean
}

/** Asks every lookupd in parallel and merges the answers. */
export async function lookupAll (addrs: readonly string[], topic: string, o: LookupRequestOptions): Promise<MergedLookup> {
  const results = await Promise.allSettled(addrs.map((a) => lookupTopic(a, topic, o)))
  const producers = new Map<string, LookupProducer>()
  const errors: NsqClientError[] = []
  let ok = false
  for (const r of results) {
    if (r.status === 'rejected') {
      errors.push(r.reason instanceof NsqClientError ? r.reason : new NsqClientError('LOOKUP_FAILED', String(r.reason)))
      continue
    }
    ok = true
    for (const p of r.value) if (!producers.has(p.tcpAddress)) producers.set(p.tcpAddress, p)
  }
  return { producers, errors, ok }
}

/** Merges /topics from every lookupd (union, sorted). */
export async function lookupAllTopics (addrs: readonly string[], o: LookupRequestOptions): Promise<{ topics: string[], errors: NsqClientError[], ok: boolean }> {
  const results = await Promise.allSettled(addrs.map((a) => lookupdTopics(a, o)))
  const set = new Set<string>()
  const errors: NsqClientError[] = []
  let ok = false
  for (const r of results) {
    if (r.status === 'rejected') { errors.push(r.reason as NsqClientError); continue }
    ok = true
    for (const t of r.value) set.add(t)
  }
  return { topics: [...set].sort(), errors, ok }
}
