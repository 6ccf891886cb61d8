// POST /pub and POST /mpub (nsqd-http.md §5): the same topic-name rules, message-size limits,
// MPUB body parser and Topic.newMessage/put/putMany as the TCP PUB/MPUB/DPUB commands.

import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { NSQD } from '../nsqd.js'
import type { Topic } from '../core/topic.js'
import { nowNs, type Message } from '../core/message.js'
import { parseMpubBody } from '../../client/wire/command-decoder.js'
import { ProtocolError } from '../../client/wire/errors.js'
import { HttpApiError, type HttpErrorToken } from './errors.js'
import { contentLength, readLimited } from './body.js'
import { queryOf, validTopicArg } from './args.js'
import { sendText, type RouteOptions, type RouteSpec } from './respond.js'
import { deferCapMs } from '../options.js'

export const PUB_ROUTES: readonly RouteSpec[] = [
  { method: 'POST', url: '/pub' },
  { method: 'POST', url: '/mpub' }
]

const DEFER_RE = /^[+-]?\d+$/

/**
 * The one publish path of the HTTP API: every message of a request goes to the topic at once;
 * in durable mode the answer waits until the batch is on disk.
 */
export async function publish (nsqd: NSQD, topic: Topic, bodies: readonly Buffer[], deferMs: number): Promise<void> {
  const ts = nowNs()
  let ok: boolean
  if (bodies.length === 1) {
    ok = topic.put(topic.newMessage(bodies[0] as Buffer, ts, deferMs))
  } else {
    const msgs: Message[] = new Array(bodies.length)
    for (let i = 0; i < bodies.length; i++) msgs[i] = topic.newMessage(bodies[i] as Buffer, ts, deferMs)
    ok = topic.putMany(msgs)
  }
  // A topic going away is NSQ's 503 EXITING; a store that could not take the messages is a
  // server fault (500), so a client can tell "try another node" from "this node is broken".
  // With replication a refused publish is 503 NOT_ENOUGH_REPLICAS (retry, perhaps on the new primary).
  // A full bounded queue under "refuse" is 503 QUEUE_FULL (not in NSQ; the reason is logged).
  if (!ok) {
    if (topic.exiting) throw new HttpApiError(503, 'EXITING')
    const full = topic.takeRefusal()
    if (full !== null) {
      nsqd.logger.debug(`HTTP: publish to ${topic.name} refused - ${full}`)
      throw new HttpApiError(503, 'QUEUE_FULL')
    }
    throw storeRefusal(nsqd)
  }
  // backpressure: answer once the store has caught up, so the publisher slows to disk speed
  const slow = nsqd.publishBackpressure()
  if (slow !== null) await slow
  const durable = nsqd.whenDurable()
  if (durable !== null) {
    try {
      await durable
    } catch (err) {
      nsqd.logger.error(`HTTP: publish to ${topic.name} not synced - ${(err as Error).message}`)
      throw storeRefusal(nsqd)
    }
  }
}

function storeRefusal (nsqd: NSQD): HttpApiError {
  return nsqd.replicationInfo !== null ? new HttpApiError(503, 'NOT_ENOUGH_REPLICAS') : new HttpApiError(500, 'INTERNAL_ERROR')
}

/** The validated topic (created if missing), as nsqd's getTopicFromQuery. */
function topicFromQuery (nsqd: NSQD, req: FastifyRequest): { topic: Topic, query: ReturnType<typeof queryOf> } {
  const query = queryOf(req)
  const name = validTopicArg(query)
  // drain mode (nsqd/drain.ts): this node takes no new messages; publish elsewhere
  if (nsqd.draining) throw new HttpApiError(503, 'DRAINING')
  return { topic: nsqd.getTopic(name), query }
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/**
 * `defer` in ms, as nsqd reads it: strconv.ParseInt (a base-10 int64, sign allowed), then
 * time.Duration(ms) * time.Millisecond, an int64 nanosecond product that wraps mod 2^64, which
 * must land in [0, --max-req-timeout]; else INVALID_DEFER. So 18446744073710 ms wraps to 448384 ns
 * and is accepted as that. Up to 12 digits nothing can wrap: a plain number.
 */
export function parseDefer (value: string | undefined, maxReqTimeoutMs: number): number {
  if (value === undefined) return 0
  if (!DEFER_RE.test(value)) throw new HttpApiError(400, 'INVALID_DEFER')
  const unsigned = value[0] === '+' || value[0] === '-' ? value.slice(1) : value
  if (unsigned.length <= 12) {
    const ms = Number(value)
    if (ms < 0 || ms > maxReqTimeoutMs) throw new HttpApiError(400, 'INVALID_DEFER')
    return ms + 0
  }
  const big = BigInt(value[0] === '-' ? value : unsigned)
  if (big < INT64_MIN || big > INT64_MAX) throw new HttpApiError(400, 'INVALID_DEFER')
  const ns = BigInt.asIntN(64, big * 1000000n)
  if (ns < 0n || Number(ns) > maxReqTimeoutMs * 1e6) throw new HttpApiError(400, 'INVALID_DEFER')
  return Number(ns) / 1e6
}

/** Text mode: lines split on '\n', empty lines skipped, '\r' kept (nsqd-http.md §5 /mpub step 4). */
export function splitLines (data: Buffer, readMax: number, maxMsgSize: number, unread = false): Buffer[] {
  const out: Buffer[] = []
  let start = 0
  while (start < data.length) {
    const nl = data.indexOf(0x0a, start)
    const end = nl < 0 ? data.length : nl + 1
    // the byte count read so far reaching readMax means the body was too big
    if (end === readMax) throw new HttpApiError(413, 'BODY_TOO_BIG', true)
    const lineEnd = nl < 0 ? end : nl
    if (lineEnd > start) {
      if (lineEnd - start > maxMsgSize) throw new HttpApiError(413, 'MSG_TOO_BIG', unread)
      out.push(data.subarray(start, lineEnd))
    }
    start = end
  }
  return out
}

export async function pubRoutes (app: FastifyInstance, { nsqd }: RouteOptions): Promise<void> {
  app.post('/pub', async (req, reply) => {
    const o = nsqd.options
    if (contentLength(req) > o.maxMsgSize) throw new HttpApiError(413, 'MSG_TOO_BIG', true)
    const body = await readLimited(req, o.maxMsgSize)
    if (body.over) throw new HttpApiError(413, 'MSG_TOO_BIG', true)
    if (body.data.length === 0) throw new HttpApiError(400, 'MSG_EMPTY')
    const { topic, query } = topicFromQuery(nsqd, req)
    const deferMs = parseDefer(query.get('defer'), deferCapMs(o))
    await publish(nsqd, topic, [body.data], deferMs)
    return sendText(reply, 'OK')
  })

  app.post('/mpub', async (req, reply) => {
    const o = nsqd.options
    if (contentLength(req) > o.maxBodySize) throw new HttpApiError(413, 'BODY_TOO_BIG', true)
    const { topic, query } = topicFromQuery(nsqd, req)
    const mode = query.get('binary')
    const binary = mode !== undefined && mode !== 'false' && mode !== '0'
    if (binary && mode !== 'true' && mode !== '1') {
      nsqd.logger.warn(`HTTP: deprecated binary mode value ${JSON.stringify(mode)} for /mpub, use binary=true`)
    }
    const body = await readLimited(req, o.maxBodySize)
    let bodies: Buffer[]
    if (binary) {
      // an empty binary body is BODY_TOO_BIG in nsqd too
      if (body.over || body.data.length === 0) throw new HttpApiError(413, 'BODY_TOO_BIG', body.over)
      try {
        bodies = parseMpubBody(body.data, { maxMsgSize: o.maxMsgSize, maxBodySize: o.maxBodySize })
      } catch (err) {
        if (err instanceof ProtocolError) throw new HttpApiError(413, err.code.slice(2) as HttpErrorToken)
        throw err
      }
    } else {
      bodies = splitLines(body.data, o.maxBodySize + 1, o.maxMsgSize, body.over)
    }
    // /mpub?defer= only with --max-defer-timeout set (NSQ 1.3 ignores defer on /mpub)
    const deferMs = o.maxDeferTimeoutMs > 0 ? parseDefer(query.get('defer'), o.maxDeferTimeoutMs) : 0
    if (bodies.length > 0) await publish(nsqd, topic, bodies, deferMs)
    return sendText(reply, 'OK')
  })
}
