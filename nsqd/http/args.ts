// Topic and channel arguments, validated with the same name rules as the TCP path
// (client/wire/names.ts) and answered with nsqd's HTTP tokens (nsqd-http.md §5).

import type { FastifyRequest } from 'fastify'
import { isValidTopicName, isValidChannelName } from '../../client/wire/names.js'
import { HttpApiError } from './errors.js'
import { Query } from './query.js'

export function queryOf (req: FastifyRequest): Query {
  return new Query(req.url)
}

/** pub, mpub, topic/create, topic/empty: MISSING_ARG_TOPIC, INVALID_TOPIC. */
export function validTopicArg (q: Query): string {
  const topic = q.get('topic')
  if (topic === undefined) throw new HttpApiError(400, 'MISSING_ARG_TOPIC')
  if (!isValidTopicName(topic)) throw new HttpApiError(400, 'INVALID_TOPIC')
  return topic
}

/** topic/delete, topic/pause, topic/unpause: only MISSING_ARG_TOPIC (no name validation). */
export function topicArg (q: Query): string {
  const topic = q.get('topic')
  if (topic === undefined) throw new HttpApiError(400, 'MISSING_ARG_TOPIC')
  return topic
}

/** channel/*: MISSING_ARG_TOPIC, INVALID_ARG_TOPIC, MISSING_ARG_CHANNEL, INVALID_ARG_CHANNEL. */
export function topicChannelArgs (q: Query): { topic: string, channel: string } {
  const topic = q.get('topic')
  if (topic === undefined) throw new HttpApiError(400, 'MISSING_ARG_TOPIC')
  if (!isValidTopicName(topic)) throw new HttpApiError(400, 'INVALID_ARG_TOPIC')
  const channel = q.get('channel')
  if (channel === undefined) throw new HttpApiError(400, 'MISSING_ARG_CHANNEL')
  if (!isValidChannelName(channel)) throw new HttpApiError(400, 'INVALID_ARG_CHANNEL')
  return { topic, channel }
}
