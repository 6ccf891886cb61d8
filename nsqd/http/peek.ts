// Peek/browse and dead-letter replay over HTTP (not in NSQ; issue 17; nsqd/http/README.md):
//   GET  /channel/peek?topic=T&channel=C[&n=20][&state=queued|deferred|in_flight][&id=ID]
//   GET  /topic/peek?topic=T[&n=20][&id=ID]
//   POST /topic/replay?topic=T.dead[&channel=C][&to=T][&id=ID ...][&n=N]
// Peek is read-only (nsqd/core/peek.ts); replay moves each message once (nsqd/replay.ts).

import type { FastifyInstance } from 'fastify'
import type { NSQD } from '../nsqd.js'
import type { Topic } from '../core/topic.js'
import type { Channel } from '../core/channel.js'
import type { Message } from '../core/message.js'
import { isValidChannelName, isValidTopicName } from '../../client/wire/names.js'
import { HttpApiError } from './errors.js'
import { queryOf, topicChannelArgs } from './args.js'
import type { Query } from './query.js'
import { sendJson, type RouteOptions, type RouteSpec } from './respond.js'
import { findMessage, peekDeferred, peekInFlight, peekQueued, type Peeked, type QueueHolder } from '../core/peek.js'
import { replay } from '../replay.js'

export const PEEK_ROUTES: readonly RouteSpec[] = [
  { method: 'GET', url: '/channel/peek' },
  { method: 'GET', url: '/topic/peek' },
  { method: 'POST', url: '/topic/replay' }
]

export const PEEK_DEFAULT_N = 20
export const PEEK_MAX_N = 1000
export const PEEK_DEFAULT_MAX_BODY = 4096
export const PEEK_MAX_MAX_BODY = 1024 * 1024
const DEAD_SUFFIX = '.dead'
const MESSAGE_ID = /^[0-9a-f]{16}$/

/** A non-negative integer query value, `fallback` when absent; -1 when malformed or above `max`. */
function intArg (q: Query, key: string, fallback: number, max: number): number {
  const v = q.get(key)
  if (v === undefined) return fallback
  if (!/^[0-9]{1,10}$/.test(v)) return -1
  const n = Number(v)
  return n > max ? -1 : n
}

interface ViewOptions { maxBody: number, text: boolean }

function viewOptions (q: Query): ViewOptions {
  const maxBody = intArg(q, 'max_body', PEEK_DEFAULT_MAX_BODY, PEEK_MAX_MAX_BODY)
  if (maxBody < 0) throw new HttpApiError(400, 'INVALID_MAX_BODY')
  const enc = q.get('encoding') ?? 'base64'
  if (enc !== 'base64' && enc !== 'text') throw new HttpApiError(400, 'INVALID_ENCODING')
  return { maxBody, text: enc === 'text' }
}

function nArg (q: Query): number {
  const n = intArg(q, 'n', PEEK_DEFAULT_N, PEEK_MAX_N)
  if (n < 1) throw new HttpApiError(400, 'INVALID_N')
  return n
}

function idArg (q: Query): string | undefined {
  const id = q.get('id')
  if (id !== undefined && !MESSAGE_ID.test(id)) throw new HttpApiError(400, 'INVALID_MESSAGE_ID')
  return id
}

/** One message as JSON (fields in a fixed order). */
function view (p: Peeked, o: ViewOptions): Record<string, unknown> {
  const m: Message = p.msg
  const size = m.body.length
  const cut = size > o.maxBody
  const body = cut ? m.body.subarray(0, o.maxBody) : m.body
  const out: Record<string, unknown> = { id: m.id, timestamp: m.timestamp, attempts: m.attempts, state: p.state }
  if (p.state === 'deferred') out.deferred_until = p.untilMs
  if (p.state === 'in_flight') out.timeout_at = p.untilMs
  if (p.position >= 0) out.position = p.position
  out.body_size = size
  out.body = o.text ? body.toString('utf8') : body.toString('base64')
  if (cut) out.body_truncated = true
  return out
}

function existingTopic (nsqd: NSQD, name: string): Topic {
  const t = nsqd.getExistingTopic(name)
  if (t === undefined) throw new HttpApiError(404, 'TOPIC_NOT_FOUND')
  return t
}

function existingChannel (topic: Topic, name: string): Channel {
  const ch = topic.getExistingChannel(name)
  if (ch === undefined) throw new HttpApiError(404, 'CHANNEL_NOT_FOUND')
  return ch
}

function topicOnly (q: Query): string {
  const topic = q.get('topic')
  if (topic === undefined) throw new HttpApiError(400, 'MISSING_ARG_TOPIC')
  if (!isValidTopicName(topic)) throw new HttpApiError(400, 'INVALID_ARG_TOPIC')
  return topic
}

async function answerPeek (holder: QueueHolder, ch: Channel | null, q: Query, head: Record<string, unknown>, depth: () => number): Promise<string> {
  const o = viewOptions(q)
  const id = idArg(q)
  if (id !== undefined) {
    const found = await findMessage(holder, id, ch)
    if (found === null) throw new HttpApiError(404, 'MESSAGE_NOT_FOUND')
    return JSON.stringify({ ...head, message: view(found, o) })
  }
  const n = nArg(q)
  const offset = intArg(q, 'offset', 0, Number.MAX_SAFE_INTEGER)
  if (offset < 0) throw new HttpApiError(400, 'INVALID_OFFSET')
  const state = q.get('state') ?? 'queued'
  let list: Peeked[]
  if (state === 'queued') list = await peekQueued(holder, n, offset)
  else if (ch !== null && state === 'deferred') list = peekDeferred(ch, n)
  else if (ch !== null && state === 'in_flight') list = peekInFlight(ch, n)
  else throw new HttpApiError(400, 'INVALID_STATE')
  return JSON.stringify({ ...head, state, depth: depth(), count: list.length, messages: list.map((p) => view(p, o)) })
}

export async function peekRoutes (app: FastifyInstance, { nsqd }: RouteOptions): Promise<void> {
  app.get('/channel/peek', async (req, reply) => {
    const q = queryOf(req)
    const args = topicChannelArgs(q)
    const ch = existingChannel(existingTopic(nsqd, args.topic), args.channel)
    const head = { topic: args.topic, channel: args.channel, in_flight_count: ch.inFlight.size, deferred_count: ch.deferred.size }
    return sendJson(reply, await answerPeek(ch, ch, q, head, () => ch.depth))
  })

  app.get('/topic/peek', async (req, reply) => {
    const q = queryOf(req)
    const t = existingTopic(nsqd, topicOnly(q))
    return sendJson(reply, await answerPeek(t, null, q, { topic: t.name }, () => t.depth))
  })

  app.post('/topic/replay', async (req, reply) => {
    const q = queryOf(req)
    const name = topicOnly(q)
    const chName = q.get('channel')
    if (chName !== undefined && !isValidChannelName(chName)) throw new HttpApiError(400, 'INVALID_ARG_CHANNEL')
    const to = q.get('to')
    if (to !== undefined && (!isValidTopicName(to) || to === name)) throw new HttpApiError(400, 'INVALID_ARG_TO')
    const stripped = name.endsWith(DEAD_SUFFIX) ? name.slice(0, -DEAD_SUFFIX.length) : ''
    const defaultTarget = isValidTopicName(stripped) ? stripped : null
    const all = q.getAll('id')
    for (const id of all) if (!MESSAGE_ID.test(id)) throw new HttpApiError(400, 'INVALID_MESSAGE_ID')
    const limit = q.has('n') ? intArg(q, 'n', 0, Number.MAX_SAFE_INTEGER) : Number.MAX_SAFE_INTEGER
    if (limit < 1) throw new HttpApiError(400, 'INVALID_N')
    const topic = existingTopic(nsqd, name)
    const source = chName === undefined ? topic : existingChannel(topic, chName)
    if (nsqd.isExiting) throw new HttpApiError(503, 'EXITING')
    if (nsqd.draining) throw new HttpApiError(503, 'DRAINING')
    const result = await replay(nsqd, {
      sourceTopic: name,
      source,
      to: to ?? null,
      defaultTarget,
      ids: all.length > 0 ? new Set(all) : null,
      limit
    })
    // durable mode: answered once the moves are on disk, as a publish would be
    const durable = nsqd.whenDurable()
    if (durable !== null) await durable.catch(() => {})
    nsqd.logger.info(`TOPIC(${name}): replayed ${result.moved} messages${result.stopped !== undefined ? ` (stopped: ${result.stopped})` : ''}`)
    return sendJson(reply, JSON.stringify(result))
  })
}
