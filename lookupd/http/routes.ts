// nsqlookupd's HTTP API routes (spec: lookupd.md §5): one fastify plugin closed over the daemon's
// context. Handlers only translate query parameters into RegistrationDB calls.

import type { FastifyInstance, FastifyRequest } from 'fastify'
import { goJson } from '../../client/wire/go-json.js'
import { isValidChannelName, isValidTopicName } from '../../client/wire/names.js'
import { CATEGORY, isActive, isTombstoned, peerJsonText, tombstone } from '../registration-db.js'
import type { PeerInfo } from '../registration-db.js'
import { HttpApiError } from './errors.js'
import type { HttpErrorToken } from './errors.js'
import { QueryParams } from './query.js'
import { sendEmpty, sendJson } from './respond.js'
import type { HttpContext, RouteSpec } from './respond.js'

export const ROUTES: readonly RouteSpec[] = [
  { method: 'GET', url: '/ping' },
  { method: 'GET', url: '/info' },
  { method: 'GET', url: '/lookup' },
  { method: 'GET', url: '/topics' },
  { method: 'GET', url: '/channels' },
  { method: 'GET', url: '/nodes' },
  { method: 'POST', url: '/topic/create' },
  { method: 'POST', url: '/topic/delete' },
  { method: 'POST', url: '/channel/create' },
  { method: 'POST', url: '/channel/delete' },
  { method: 'POST', url: '/topic/tombstone' }
]

function required (q: QueryParams, key: string, missing: HttpErrorToken): string {
  const v = q.get(key)
  if (v === undefined) throw new HttpApiError(missing)
  return v
}

/** topic and channel, checked in NSQ's order (missing/invalid topic, then channel). */
function topicChannelArgs (q: QueryParams): { topic: string, channel: string } {
  const topic = required(q, 'topic', 'MISSING_ARG_TOPIC')
  if (!isValidTopicName(topic)) throw new HttpApiError('INVALID_ARG_TOPIC')
  const channel = required(q, 'channel', 'MISSING_ARG_CHANNEL')
  if (!isValidChannelName(channel)) throw new HttpApiError('INVALID_ARG_CHANNEL')
  return { topic, channel }
}

/**
 * `*` as a topic is Go's wildcard (its registration lookups match any key with it): /lookup,
 * /channels, /topic/delete and /topic/tombstone then act on every topic. No registration can be
 * named `*` (the name is invalid), so nothing else is shadowed.
 */
const WILDCARD = '*'

const query = (req: FastifyRequest): QueryParams => QueryParams.fromUrl(req.url)

export async function lookupRoutes (app: FastifyInstance, opts: { ctx: HttpContext }): Promise<void> {
  const { db, logger } = opts.ctx
  const ctx = opts.ctx

  app.get('/ping', async (_req, reply) => reply.header('Content-Type', 'text/plain; charset=utf-8').send('OK'))

  app.get('/info', async (_req, reply) => sendJson(reply, goJson({ version: ctx.version })))

  app.get('/lookup', async (req, reply) => {
    const topic = required(query(req), 'topic', 'MISSING_ARG_TOPIC')
    const now = ctx.now()
    const limits = { inactiveProducerTimeoutMs: ctx.inactiveProducerTimeoutMs(), tombstoneLifetimeMs: ctx.tombstoneLifetimeMs() }
    let channels: string[]
    let producers: PeerInfo[]
    if (topic === WILDCARD) {
      if (db.topics().length === 0) throw new HttpApiError('TOPIC_NOT_FOUND')
      channels = db.allChannels()
      producers = db.anyTopicProducers()
        .filter((p) => isActive(p, now, limits.inactiveProducerTimeoutMs) && !isTombstoned(p, now, limits.tombstoneLifetimeMs))
        .map((p) => p.peer)
    } else {
      if (!db.hasTopic(topic)) throw new HttpApiError('TOPIC_NOT_FOUND')
      channels = db.channels(topic)
      producers = db.lookupProducers(topic, now, limits)
    }
    return sendJson(reply, `{"channels":${goJson(channels)},"producers":[${producers.map((p) => peerJsonText(p)).join(',')}]}`)
  })

  app.get('/topics', async (_req, reply) => sendJson(reply, goJson({ topics: db.topics() })))

  app.get('/channels', async (req, reply) => {
    const topic = required(query(req), 'topic', 'MISSING_ARG_TOPIC')
    return sendJson(reply, goJson({ channels: topic === WILDCARD ? db.allChannels() : db.channels(topic) }))
  })

  app.get('/nodes', async (_req, reply) => {
    const now = ctx.now()
    const lifetime = ctx.tombstoneLifetimeMs()
    const producers = db.activePeers(now, ctx.inactiveProducerTimeoutMs()).map((peer) => {
      const { topics, tombstones } = db.peerTopics(peer.id, now, lifetime)
      return peerJsonText(peer, `,"tombstones":${JSON.stringify(tombstones)},"topics":${goJson(topics)}`)
    })
    return sendJson(reply, `{"producers":[${producers.join(',')}]}`)
  })

  app.post('/topic/create', async (req, reply) => {
    const topic = required(query(req), 'topic', 'MISSING_ARG_TOPIC')
    if (!isValidTopicName(topic)) throw new HttpApiError('INVALID_ARG_TOPIC')
    if (!db.hasTopic(topic)) logger.info(`DB: adding topic(${topic})`)
    db.addRegistration(CATEGORY.TOPIC, topic, '')
    return sendEmpty(reply)
  })

  app.post('/topic/delete', async (req, reply) => {
    const topic = required(query(req), 'topic', 'MISSING_ARG_TOPIC')
    const wild = topic === WILDCARD
    for (const ch of wild ? db.allChannels() : db.channels(topic)) logger.info(`DB: removing channel(${ch}) from topic(${topic})`)
    const topics = wild ? db.topics() : db.hasTopic(topic) ? [topic] : []
    for (let i = 0; i < topics.length; i++) logger.info(`DB: removing topic(${topic})`)
    if (wild) db.removeAllTopics()
    else db.removeTopic(topic)
    return sendEmpty(reply)
  })

  app.post('/channel/create', async (req, reply) => {
    const { topic, channel } = topicChannelArgs(query(req))
    logger.info(`DB: adding channel(${channel}) in topic(${topic})`)
    db.addRegistration(CATEGORY.CHANNEL, topic, channel)
    db.addRegistration(CATEGORY.TOPIC, topic, '')
    return sendEmpty(reply)
  })

  app.post('/channel/delete', async (req, reply) => {
    const { topic, channel } = topicChannelArgs(query(req))
    if (!db.removeRegistration(CATEGORY.CHANNEL, topic, channel)) throw new HttpApiError('CHANNEL_NOT_FOUND')
    logger.info(`DB: removing channel(${channel}) from topic(${topic})`)
    return sendEmpty(reply)
  })

  app.post('/topic/tombstone', async (req, reply) => {
    const q = query(req)
    const topic = required(q, 'topic', 'MISSING_ARG_TOPIC')
    const node = required(q, 'node', 'MISSING_ARG_NODE')
    logger.info(`DB: setting tombstone for producer@${node} of topic(${topic})`)
    if (topic !== WILDCARD) {
      db.tombstoneTopicProducer(topic, node, ctx.now())
    } else {
      for (const p of db.anyTopicProducers()) if (`${p.peer.broadcastAddress}:${p.peer.httpPort}` === node) tombstone(p, ctx.now())
    }
    return sendEmpty(reply)
  })
}
