// POST /channel/create|delete|empty|pause|unpause (nsqd-http.md §5, nsqd-internals.md §9). Every
// endpoint validates topic and channel names first, then requires the topic to exist.

import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { NSQD } from '../nsqd.js'
import type { Topic } from '../core/topic.js'
import type { Channel } from '../core/channel.js'
import { HttpApiError } from './errors.js'
import { queryOf, topicChannelArgs } from './args.js'
import { adminAction, sendEmpty, sendJson, type RouteOptions, type RouteSpec } from './respond.js'
import { readLimited } from './body.js'
import { parsePolicyConfig, type ChannelPolicyConfig, type PolicyError } from '../core/policy.js'
import { isValidTopicName } from '../../client/wire/names.js'

export const CHANNEL_ROUTES: readonly RouteSpec[] = [
  { method: 'POST', url: '/channel/create' },
  { method: 'POST', url: '/channel/delete' },
  { method: 'POST', url: '/channel/empty' },
  { method: 'POST', url: '/channel/pause' },
  { method: 'POST', url: '/channel/unpause' },
  { method: 'GET', url: '/channel/config' },
  { method: 'POST', url: '/channel/config' }
]

/** A policy config body is a small JSON object. */
const CONFIG_BODY_LIMIT = 64 * 1024

/** The 400 for a refused policy config (each token spelled out: the catalogue test reads them). */
function policyError (token: PolicyError): HttpApiError {
  switch (token) {
    case 'INVALID_JSON': return new HttpApiError(400, 'INVALID_JSON')
    case 'INVALID_CONFIG_KEY': return new HttpApiError(400, 'INVALID_CONFIG_KEY')
    case 'INVALID_MAX_ATTEMPTS': return new HttpApiError(400, 'INVALID_MAX_ATTEMPTS')
    case 'INVALID_DEAD_LETTER_TOPIC': return new HttpApiError(400, 'INVALID_DEAD_LETTER_TOPIC')
    case 'INVALID_MESSAGE_TTL': return new HttpApiError(400, 'INVALID_MESSAGE_TTL')
    case 'INVALID_ENVELOPE': return new HttpApiError(400, 'INVALID_ENVELOPE')
    case 'INVALID_MAX_QUEUE_MESSAGES': return new HttpApiError(400, 'INVALID_MAX_QUEUE_MESSAGES')
    case 'INVALID_MAX_QUEUE_BYTES': return new HttpApiError(400, 'INVALID_MAX_QUEUE_BYTES')
    case 'INVALID_QUEUE_FULL_POLICY': return new HttpApiError(400, 'INVALID_QUEUE_FULL_POLICY')
  }
}

/**
 * Reads and validates a policy config body (POST /channel/config and /topic/config) for a channel
 * of `topicName` or the topic itself; throws the 400 (or 413) on bad input.
 */
export async function readPolicyConfig (req: FastifyRequest, topicName: string): Promise<ChannelPolicyConfig> {
  const body = await readLimited(req, CONFIG_BODY_LIMIT)
  if (body.over) throw new HttpApiError(413, 'BODY_TOO_BIG', true)
  let raw: unknown
  try {
    raw = JSON.parse(body.data.toString('utf8'))
  } catch {
    throw new HttpApiError(400, 'INVALID_JSON')
  }
  const config = parsePolicyConfig(raw, topicName)
  if (typeof config === 'string') throw policyError(config)
  if (config.dead_letter_topic === undefined && (config.max_attempts ?? 0) > 0 && !isValidTopicName(`${topicName}.dead`)) {
    // the default `<topic>.dead` is not a valid name (too long, or an #ephemeral topic): name one
    throw new HttpApiError(400, 'INVALID_DEAD_LETTER_TOPIC')
  }
  return config
}

function target (nsqd: NSQD, req: FastifyRequest): { topic: Topic, channel: string } {
  const args = topicChannelArgs(queryOf(req))
  const topic = nsqd.getExistingTopic(args.topic)
  if (topic === undefined) throw new HttpApiError(404, 'TOPIC_NOT_FOUND')
  return { topic, channel: args.channel }
}

function existingChannel (topic: Topic, name: string): Channel {
  const ch = topic.getExistingChannel(name)
  if (ch === undefined) throw new HttpApiError(404, 'CHANNEL_NOT_FOUND')
  return ch
}

export async function channelRoutes (app: FastifyInstance, { nsqd }: RouteOptions): Promise<void> {
  app.post('/channel/create', async (req, reply) => {
    const { topic, channel } = target(nsqd, req)
    topic.getChannel(channel)
    return sendEmpty(reply)
  })

  app.post('/channel/delete', async (req, reply) => {
    const { topic, channel } = target(nsqd, req)
    existingChannel(topic, channel)
    await adminAction(nsqd, `deleting channel ${topic.name}:${channel}`, async () => await topic.deleteChannel(channel))
    return sendEmpty(reply)
  })

  app.post('/channel/empty', async (req, reply) => {
    const { topic, channel } = target(nsqd, req)
    const ch = existingChannel(topic, channel)
    await adminAction(nsqd, `emptying channel ${topic.name}:${channel}`, () => { ch.empty() })
    return sendEmpty(reply)
  })

  for (const paused of [true, false]) {
    app.post(paused ? '/channel/pause' : '/channel/unpause', async (req, reply) => {
      const { topic, channel } = target(nsqd, req)
      const ch = existingChannel(topic, channel)
      await adminAction(nsqd, `${paused ? 'pausing' : 'unpausing'} channel ${topic.name}:${channel}`, () => { nsqd.setPaused(topic, ch, paused) })
      return sendEmpty(reply)
    })
  }

  // Delivery policies (issue 16, not in NSQ): GET shows the channel's own config and the effective
  // values; POST replaces the config with the JSON body (an empty object clears it).
  const policyView = (ch: Channel): string => JSON.stringify({
    config: ch.policyConfig,
    topic_config: ch.topicPolicyConfig,
    effective: {
      max_attempts: ch.maxAttempts,
      dead_letter_topic: ch.deadLettering ? ch.deadLetterTopic : '',
      message_ttl_ms: ch.messageTtlMs,
      dead_letter_envelope: ch.deadLetterJson ? 'json' : 'none',
      max_queue_messages: ch.cap.maxMessages,
      max_queue_bytes: ch.cap.maxBytes,
      queue_full_policy: ch.dropsOldest ? 'drop-oldest' : 'refuse'
    },
    dead_letter_count: ch.deadLetterCount,
    expired_count: ch.expiredCount,
    full_drop_count: ch.fullDropCount
  })

  app.get('/channel/config', async (req, reply) => {
    const { topic, channel } = target(nsqd, req)
    return sendJson(reply, policyView(existingChannel(topic, channel)))
  })

  app.post('/channel/config', async (req, reply) => {
    const { topic, channel } = target(nsqd, req)
    const ch = existingChannel(topic, channel)
    const config = await readPolicyConfig(req, topic.name)
    ch.setPolicyConfig(config)
    return sendJson(reply, policyView(ch))
  })
}
