// POST /channel/create|delete|empty|pause|unpause (nsqd-http.md §5, nsqd-internals.md §9). Every
// endpoint validates topic and channel names first, then requires the topic to exist.

import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { NSQD } from '../nsqd.js'
import type { Topic } from '../core/topic.js'
import type { Channel } from '../core/channel.js'
import { HttpApiError } from './errors.js'
import { queryOf, topicChannelArgs } from './args.js'
import { adminAction, sendEmpty, type RouteOptions, type RouteSpec } from './respond.js'

export const CHANNEL_ROUTES: readonly RouteSpec[] = [
  { method: 'POST', url: '/channel/create' },
  { method: 'POST', url: '/channel/delete' },
  { method: 'POST', url: '/channel/empty' },
  { method: 'POST', url: '/channel/pause' },
  { method: 'POST', url: '/channel/unpause' }
]

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
}
