// POST/DELETE /api/*: create, pause/unpause/empty, delete, tombstone (spec: nsqadmin.md §4.8-
// §4.11, §5). Each is admin-only when --admin-user is set, runs NSQ's upstream call sequence,
// collects per-host failures as warnings, and is posted to the notification endpoint.

import type { FastifyInstance, FastifyRequest } from 'fastify'
import { isValidChannelName, isValidTopicName } from '../../client/wire/names.js'
import type { NodeRef, PartialResult } from '../cluster-info.js'
import type { NodeError } from '../types.js'
import type { AdminContext } from './context.js'
import { ApiError, notify, requireAdmin, requireSome, sendPartial } from './context.js'
import { channelParam, topicParam } from './read.js'
import { route } from './route.js'

/** Parses the raw request body as a JSON object; 400 with the parser's text otherwise. */
function jsonBody (req: FastifyRequest, badBodyToken?: string): Record<string, unknown> {
  const raw = req.body
  const text = typeof raw === 'string' ? raw : Buffer.isBuffer(raw) ? raw.toString('utf8') : ''
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (err) {
    throw new ApiError(400, badBodyToken ?? (text.trim() === '' ? 'EOF' : (err as Error).message))
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ApiError(400, badBodyToken ?? 'body must be a JSON object')
  return v as Record<string, unknown>
}

function str (v: unknown): string {
  return typeof v === 'string' ? v : ''
}

/**
 * Combines the upstream steps of an action: 502 when some host was asked and none of them did
 * it. `discovery` errors (finding producers) are reported but never count as the action.
 */
function combine (discovery: NodeError[], ...steps: Array<PartialResult<unknown>>): NodeError[] {
  const errors = [...discovery, ...steps.flatMap((s) => s.errors)]
  const attempted = steps.reduce((n, s) => n + s.attempted, 0)
  const failed = steps.reduce((n, s) => n + s.errors.length, 0)
  if (attempted > 0 && failed >= attempted) requireSome({ value: null, errors, attempted: errors.length })
  return errors
}

const ACTIONS = ['pause', 'unpause', 'empty'] as const

export function registerActionRoutes (app: FastifyInstance, ctx: AdminContext): void {
  const producers = async (topic: string): Promise<PartialResult<NodeRef[]>> => {
    const r = await ctx.cluster.topicProducers(topic)
    return { value: r.value.producers, errors: r.errors, attempted: r.attempted }
  }
  // For pause/unpause/empty: the topic must exist somewhere.
  const requiredProducers = async (topic: string): Promise<PartialResult<NodeRef[]>> => {
    const r = await ctx.cluster.topicProducers(topic)
    requireSome(r)
    if (r.value.producers.length === 0) {
      throw new ApiError(404, r.value.known ? 'TOPIC_NOT_FOUND: no nsqd has this topic right now' : 'TOPIC_NOT_FOUND', r.errors)
    }
    return { value: r.value.producers, errors: r.errors, attempted: r.attempted }
  }

  route(app, '/api/topics', {
    POST: async (req, reply) => {
      requireAdmin(ctx, req)
      const body = jsonBody(req)
      const topic = str(body.topic)
      const channel = str(body.channel)
      if (!isValidTopicName(topic)) throw new ApiError(400, 'INVALID_TOPIC')
      if (channel !== '' && !isValidChannelName(channel)) throw new ApiError(400, 'INVALID_CHANNEL')
      const t = encodeURIComponent(topic)
      const c = encodeURIComponent(channel)
      let errors: NodeError[]
      if (ctx.cluster.mode === 'nsqd') {
        // Ours: NSQ's nsqd mode cannot create anything; we create on every listed nsqd.
        const refs = await ctx.cluster.nodeRefs()
        requireSome(refs)
        const steps = [refs, await ctx.cluster.nsqdPost(refs.value, `/topic/create?topic=${t}`)]
        if (channel !== '') steps.push(await ctx.cluster.nsqdPost(refs.value, `/channel/create?topic=${t}&channel=${c}`))
        errors = combine(refs.errors, ...steps.slice(1))
      } else {
        const discovery: NodeError[] = []
        const steps: Array<PartialResult<unknown>> = [await ctx.cluster.lookupdPost(`/topic/create?topic=${t}`)]
        if (channel !== '') {
          steps.push(await ctx.cluster.lookupdPost(`/channel/create?topic=${t}&channel=${c}`))
          const p = await producers(topic)
          discovery.push(...p.errors)
          steps.push(await ctx.cluster.nsqdPost(p.value, `/channel/create?topic=${t}&channel=${c}`))
        }
        errors = combine(discovery, ...steps)
      }
      notify(ctx, req, 'create_topic', topic)
      if (channel !== '') notify(ctx, req, 'create_channel', topic, channel)
      return sendPartial(reply, {}, errors)
    }
  })

  route(app, '/api/topics/:topic', {
    POST: async (req, reply) => {
      requireAdmin(ctx, req)
      const topic = topicParam(req)
      const action = str(jsonBody(req).action)
      if (!(ACTIONS as readonly string[]).includes(action)) throw new ApiError(400, 'INVALID_ACTION')
      const p = await requiredProducers(topic)
      const r = await ctx.cluster.nsqdPost(p.value, `/topic/${action}?topic=${encodeURIComponent(topic)}`)
      const errors = combine(p.errors, r)
      notify(ctx, req, `${action}_topic`, topic)
      return sendPartial(reply, {}, errors)
    },
    DELETE: async (req, reply) => {
      requireAdmin(ctx, req)
      const topic = topicParam(req)
      const t = encodeURIComponent(topic)
      const p = await producers(topic)
      const l = ctx.cluster.mode === 'lookupd' ? await ctx.cluster.lookupdPost(`/topic/delete?topic=${t}`, true) : { value: null, errors: [], attempted: 0 }
      const n = await ctx.cluster.nsqdPost(p.value, `/topic/delete?topic=${t}`, true)
      const errors = combine(p.errors, l, n)
      notify(ctx, req, 'delete_topic', topic)
      return sendPartial(reply, {}, errors)
    }
  })

  route(app, '/api/topics/:topic/:channel', {
    POST: async (req, reply) => {
      requireAdmin(ctx, req)
      const topic = topicParam(req)
      const channel = channelParam(req)
      const action = str(jsonBody(req).action)
      if (!(ACTIONS as readonly string[]).includes(action)) throw new ApiError(400, 'INVALID_ACTION')
      const p = await requiredProducers(topic)
      const r = await ctx.cluster.nsqdPost(p.value, `/channel/${action}?topic=${encodeURIComponent(topic)}&channel=${encodeURIComponent(channel)}`)
      const errors = combine(p.errors, r)
      notify(ctx, req, `${action}_channel`, topic, channel)
      return sendPartial(reply, {}, errors)
    },
    DELETE: async (req, reply) => {
      requireAdmin(ctx, req)
      const topic = topicParam(req)
      const channel = channelParam(req)
      const q = `topic=${encodeURIComponent(topic)}&channel=${encodeURIComponent(channel)}`
      const p = await producers(topic)
      const l = ctx.cluster.mode === 'lookupd' ? await ctx.cluster.lookupdPost(`/channel/delete?${q}`, true) : { value: null, errors: [], attempted: 0 }
      const n = await ctx.cluster.nsqdPost(p.value, `/channel/delete?${q}`, true)
      const errors = combine(p.errors, l, n)
      notify(ctx, req, 'delete_channel', topic, channel)
      return sendPartial(reply, {}, errors)
    }
  })

  route(app, '/api/nodes/:node', {
    // beyond NSQ: {"action":"drain"} starts a drain on that nsqd (PUT /config/draining true, nsqd/drain.ts)
    POST: async (req, reply) => {
      requireAdmin(ctx, req)
      const node = (req.params as Record<string, string>).node ?? ''
      if (str(jsonBody(req).action) !== 'drain') throw new ApiError(400, 'INVALID_ACTION')
      const refs = await ctx.cluster.nodeRefs()
      const ref = refs.value.find((x) => x.node === node)
      if (ref === undefined) {
        requireSome(refs)
        throw new ApiError(404, 'NODE_NOT_FOUND', refs.errors)
      }
      const errors = combine(refs.errors, await ctx.cluster.nsqdPut(ref, '/config/draining', 'true'))
      notify(ctx, req, 'drain_node', '', '', node)
      return sendPartial(reply, {}, errors)
    },
    DELETE: async (req, reply) => {
      requireAdmin(ctx, req)
      const node = (req.params as Record<string, string>).node ?? ''
      const topic = str(jsonBody(req, 'INVALID_BODY').topic)
      if (!isValidTopicName(topic)) throw new ApiError(400, 'INVALID_TOPIC')
      const t = encodeURIComponent(topic)
      const l = ctx.cluster.mode === 'lookupd'
        ? await ctx.cluster.lookupdPost(`/topic/tombstone?topic=${t}&node=${encodeURIComponent(node)}`)
        : { value: null, errors: [], attempted: 0 }
      const refs = await ctx.cluster.nodeRefs()
      const ref = refs.value.find((x) => x.node === node) ?? { node, httpAddress: node, hostname: node }
      const n = await ctx.cluster.nsqdPost([ref], `/topic/delete?topic=${t}`, true)
      const errors = combine(refs.errors, l, n)
      notify(ctx, req, 'tombstone_topic_producer', topic, '', node)
      return sendPartial(reply, {}, errors)
    }
  })
}
