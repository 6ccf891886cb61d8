// Message peek and dead-letter replay (beyond NSQ; issue 17; admin/README.md), proxied to the nsqd
// producers of the topic (nsqd/http/README.md: /channel/peek, /topic/peek, /topic/replay):
//   GET  /api/peek/:topic[?n=&id=]                   the topic's own queue on every producer
//   GET  /api/peek/:topic/:channel[?n=&state=&id=]   a channel's queue (or deferred / in-flight)
//   POST /api/replay/:topic  {"to"?, "ids"?: [...], "n"?, "channel"?}  → {"moved": N}
// Peek is a read (viewers may); replay is an admin action (requireAdmin here, and with
// --users-file the login gate's role and CSRF checks as for every POST under /api).

import type { FastifyInstance, FastifyRequest } from 'fastify'
import { isValidChannelName, isValidTopicName } from '../../client/wire/names.js'
import { UpstreamError } from '../http-client.js'
import type { NodeRef } from '../cluster-info.js'
import type { NodeError } from '../types.js'
import type { AdminContext } from './context.js'
import { ApiError, notify, requireAdmin, requireSome, sendPartial } from './context.js'
import { channelParam, topicParam } from './read.js'
import { route } from './route.js'

const MESSAGE_ID = /^[0-9a-f]{16}$/
const MAX_IDS = 1000

function queryValue (req: FastifyRequest, name: string): string | undefined {
  const v = (req.query as Record<string, string | string[] | undefined>)[name]
  return Array.isArray(v) ? v[0] : v
}

function isObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** A "not here" answer of one node (the topic, channel or message is on another node). */
function absent (err: unknown): boolean {
  return err instanceof UpstreamError && err.status === 404
}

function errorText (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

export function registerMessageRoutes (app: FastifyInstance, ctx: AdminContext): void {
  const producers = async (topic: string): Promise<{ refs: NodeRef[], errors: NodeError[] }> => {
    const r = await ctx.cluster.topicProducers(topic)
    requireSome(r)
    if (r.value.producers.length === 0) throw new ApiError(404, 'TOPIC_NOT_FOUND', r.errors)
    return { refs: r.value.producers, errors: r.errors }
  }

  /** Asks every producer for `path`; merges the per-node peeks, each message tagged with its node. */
  const peek = async (topic: string, path: string): Promise<{ body: Record<string, unknown>, errors: NodeError[] }> => {
    const { refs, errors } = await producers(topic)
    let badRequest = ''
    const answers = await Promise.all(refs.map(async (ref) => {
      try {
        return { ref, v: await ctx.http.getJson(ref.httpAddress, path) }
      } catch (err) {
        if (err instanceof UpstreamError && err.status === 400 && err.upstreamMessage !== '') badRequest = err.upstreamMessage
        else if (!absent(err)) errors.push({ kind: 'nsqd', address: ref.httpAddress, error: errorText(err) })
        return { ref, v: null }
      }
    }))
    // a bad parameter (n, state, id, max_body) is nsqd's 400, passed on with its token
    if (badRequest !== '') throw new ApiError(400, badRequest)
    const nodes: Array<Record<string, unknown>> = []
    const messages: Array<Record<string, unknown>> = []
    let found: Record<string, unknown> | null = null
    for (const { ref, v } of answers) {
      if (!isObject(v)) continue
      if (isObject(v.message)) {
        found ??= { ...v.message, node: ref.node }
        continue
      }
      const list = Array.isArray(v.messages) ? v.messages.filter(isObject) : []
      nodes.push({ node: ref.node, depth: v.depth, in_flight_count: v.in_flight_count, deferred_count: v.deferred_count, count: list.length })
      for (const m of list) messages.push({ ...m, node: ref.node })
    }
    if (errors.length > 0 && answers.every((a) => a.v === null) && errors.length >= refs.length) {
      throw new ApiError(502, `UPSTREAM_ERROR: ${errors.map((e) => e.error).join('; ')}`, errors)
    }
    return { body: found !== null ? { found } : { nodes, messages }, errors }
  }

  /** The nsqd query for a peek, from the admin request's (validated by nsqd itself). */
  const peekQuery = (req: FastifyRequest, keys: readonly string[]): string => {
    let q = ''
    for (const k of keys) {
      const v = queryValue(req, k)
      if (v !== undefined) q += `&${k}=${encodeURIComponent(v)}`
    }
    return q
  }

  route(app, '/api/peek/:topic', {
    GET: async (req, reply) => {
      const topic = topicParam(req)
      const r = await peek(topic, `/topic/peek?topic=${encodeURIComponent(topic)}${peekQuery(req, ['n', 'id', 'max_body'])}`)
      if (queryValue(req, 'id') !== undefined && r.body.found === undefined) throw new ApiError(404, 'MESSAGE_NOT_FOUND', r.errors)
      return sendPartial(reply, r.body, r.errors)
    }
  })

  route(app, '/api/peek/:topic/:channel', {
    GET: async (req, reply) => {
      const topic = topicParam(req)
      const channel = channelParam(req)
      const r = await peek(topic, `/channel/peek?topic=${encodeURIComponent(topic)}&channel=${encodeURIComponent(channel)}${peekQuery(req, ['n', 'state', 'id', 'max_body'])}`)
      if (queryValue(req, 'id') !== undefined && r.body.found === undefined) throw new ApiError(404, 'MESSAGE_NOT_FOUND', r.errors)
      return sendPartial(reply, r.body, r.errors)
    }
  })

  route(app, '/api/replay/:topic', {
    POST: async (req, reply) => {
      requireAdmin(ctx, req)
      const topic = topicParam(req)
      const body = parseBody(req)
      const to = typeof body.to === 'string' && body.to !== '' ? body.to : undefined
      if (to !== undefined && (!isValidTopicName(to) || to === topic)) throw new ApiError(400, 'INVALID_TO')
      const channel = typeof body.channel === 'string' && body.channel !== '' ? body.channel : undefined
      if (channel !== undefined && !isValidChannelName(channel)) throw new ApiError(400, 'INVALID_CHANNEL')
      const ids = body.ids === undefined ? [] : body.ids
      if (!Array.isArray(ids) || ids.length > MAX_IDS || !ids.every((id) => typeof id === 'string' && MESSAGE_ID.test(id))) throw new ApiError(400, 'INVALID_IDS')
      const n = body.n
      if (n !== undefined && !(Number.isSafeInteger(n) && (n as number) > 0)) throw new ApiError(400, 'INVALID_N')
      const { refs, errors } = await producers(topic)
      let q = `topic=${encodeURIComponent(topic)}`
      if (to !== undefined) q += `&to=${encodeURIComponent(to)}`
      if (channel !== undefined) q += `&channel=${encodeURIComponent(channel)}`
      for (const id of ids as string[]) q += `&id=${id}`
      // one node after another, so that a limit `n` counts across the cluster
      let moved = 0
      let asked = 0
      let failed = 0
      for (const ref of refs) {
        const left = n === undefined ? undefined : (n as number) - moved
        if (left !== undefined && left <= 0) break
        asked++
        try {
          const res = await ctx.http.request('POST', `http://${ref.httpAddress}/topic/replay?${q}${left !== undefined ? `&n=${left}` : ''}`, null, null)
          const v: unknown = JSON.parse(res.body.toString('utf8'))
          if (isObject(v) && typeof v.moved === 'number') moved += v.moved
          if (isObject(v) && typeof v.stopped === 'string') errors.push({ kind: 'nsqd', address: ref.httpAddress, error: `replay stopped: ${v.stopped}` })
        } catch (err) {
          if (absent(err)) continue
          failed++
          errors.push({ kind: 'nsqd', address: ref.httpAddress, error: errorText(err) })
        }
      }
      if (asked > 0 && failed >= asked) throw new ApiError(502, `UPSTREAM_ERROR: ${errors.map((e) => e.error).join('; ')}`, errors)
      notify(ctx, req, 'replay_topic', topic, channel ?? '')
      ctx.logger.info(`ADMIN: replayed ${moved} messages of ${topic}${to !== undefined ? ` to ${to}` : ''}`)
      return sendPartial(reply, { moved }, errors)
    }
  })
}

function parseBody (req: FastifyRequest): Record<string, unknown> {
  const raw = req.body
  const text = typeof raw === 'string' ? raw : Buffer.isBuffer(raw) ? raw.toString('utf8') : ''
  if (text.trim() === '') return {}
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    throw new ApiError(400, 'INVALID_BODY')
  }
  if (!isObject(v)) throw new ApiError(400, 'INVALID_BODY')
  return v
}
