// POST /topic/create|delete|empty|pause|unpause (nsqd-http.md §5, nsqd-internals.md §9).
// Validation order and tokens follow nsqd; success is 200 with an empty body.

import type { FastifyInstance } from 'fastify'
import type { NSQD } from '../nsqd.js'
import type { Topic } from '../core/topic.js'
import { HttpApiError } from './errors.js'
import { queryOf, topicArg, validTopicArg } from './args.js'
import { adminAction, sendEmpty, sendJson, type RouteOptions, type RouteSpec } from './respond.js'
import { readPolicyConfig } from './channel.js'

export const TOPIC_ROUTES: readonly RouteSpec[] = [
  { method: 'POST', url: '/topic/create' },
  { method: 'POST', url: '/topic/delete' },
  { method: 'POST', url: '/topic/empty' },
  { method: 'POST', url: '/topic/pause' },
  { method: 'POST', url: '/topic/unpause' },
  { method: 'GET', url: '/topic/config' },
  { method: 'POST', url: '/topic/config' }
]

function existing (nsqd: NSQD, name: string): Topic {
  const t = nsqd.getExistingTopic(name)
  if (t === undefined) throw new HttpApiError(404, 'TOPIC_NOT_FOUND')
  return t
}

/** The answer of GET/POST /topic/config: the config, the topic's own effective cap and its counters. */
function topicPolicyView (t: Topic): string {
  return JSON.stringify({
    config: t.policyConfig,
    effective: {
      max_queue_messages: t.cap.maxMessages,
      max_queue_bytes: t.cap.maxBytes,
      queue_full_policy: t.cap.dropOldest ? 'drop-oldest' : 'refuse'
    },
    full_drop_count: t.fullDropCount,
    full_refused_count: t.fullRefusedCount
  })
}

export async function topicRoutes (app: FastifyInstance, { nsqd }: RouteOptions): Promise<void> {
  app.post('/topic/create', async (req, reply) => {
    nsqd.getTopic(validTopicArg(queryOf(req)))
    return sendEmpty(reply)
  })

  app.post('/topic/delete', async (req, reply) => {
    const name = topicArg(queryOf(req))
    existing(nsqd, name)
    await adminAction(nsqd, `deleting topic ${name}`, async () => await nsqd.deleteTopic(name))
    return sendEmpty(reply)
  })

  app.post('/topic/empty', async (req, reply) => {
    const t = existing(nsqd, validTopicArg(queryOf(req)))
    await adminAction(nsqd, `emptying topic ${t.name}`, () => { t.empty() })
    return sendEmpty(reply)
  })

  for (const paused of [true, false]) {
    app.post(paused ? '/topic/pause' : '/topic/unpause', async (req, reply) => {
      const t = existing(nsqd, topicArg(queryOf(req)))
      await adminAction(nsqd, `${paused ? 'pausing' : 'unpausing'} topic ${t.name}`, () => { nsqd.setPaused(t, null, paused) })
      return sendEmpty(reply)
    })
  }

  // Delivery policy defaults for the topic's channels (issue 16, not in NSQ; nsqd/http/README.md)
  app.get('/topic/config', async (req, reply) => {
    const t = existing(nsqd, validTopicArg(queryOf(req)))
    return sendJson(reply, topicPolicyView(t))
  })

  app.post('/topic/config', async (req, reply) => {
    const t = existing(nsqd, validTopicArg(queryOf(req)))
    t.setPolicyConfig(await readPolicyConfig(req, t.name))
    return sendJson(reply, topicPolicyView(t))
  })
}
