// Delivery policies and bounded queues (issue 16, not in NSQ) as nsqd reports them in /stats: the
// effective settings and counters of a channel or topic, per node, and their sum over nodes. Absent
// (undefined) where a node reports none, so a cluster without policies looks exactly as before.

import type { NsqdChannel, NsqdTopic } from './types.js'

export interface ChannelPolicyOut {
  max_attempts: number
  message_ttl_ms: number
  /** '' when dead-lettering is off. */
  dead_letter_topic: string
  dead_letter_count: number
  expired_count: number
  /** Bounded queue: 0 = no cap. */
  max_queue_messages: number
  max_queue_bytes: number
  queue_full_policy: string
  queue_bytes: number
  full_drop_count: number
}

export interface TopicPolicyOut {
  max_queue_messages: number
  max_queue_bytes: number
  queue_full_policy: string
  queue_bytes: number
  full_drop_count: number
  full_refused_count: number
}

const n = (v: unknown): number => typeof v === 'number' && Number.isFinite(v) ? v : 0

/** A channel's policy on one node; undefined when the node reports none. */
export function channelPolicy (c: NsqdChannel): ChannelPolicyOut | undefined {
  if (c.dead_letter_count === undefined && c.full_drop_count === undefined) return undefined
  return {
    max_attempts: n(c.max_attempts),
    message_ttl_ms: n(c.message_ttl_ms),
    dead_letter_topic: typeof c.dead_letter_topic === 'string' ? c.dead_letter_topic : '',
    dead_letter_count: n(c.dead_letter_count),
    expired_count: n(c.expired_count),
    max_queue_messages: n(c.max_queue_messages),
    max_queue_bytes: n(c.max_queue_bytes),
    queue_full_policy: typeof c.queue_full_policy === 'string' ? c.queue_full_policy : '',
    queue_bytes: n(c.queue_bytes),
    full_drop_count: n(c.full_drop_count)
  }
}

/** A topic's own cap and counters on one node; undefined when the node reports none. */
export function topicPolicy (t: NsqdTopic): TopicPolicyOut | undefined {
  if (t.full_drop_count === undefined) return undefined
  return {
    max_queue_messages: n(t.max_queue_messages),
    max_queue_bytes: n(t.max_queue_bytes),
    queue_full_policy: typeof t.queue_full_policy === 'string' ? t.queue_full_policy : '',
    queue_bytes: n(t.queue_bytes),
    full_drop_count: n(t.full_drop_count),
    full_refused_count: n(t.full_refused_count)
  }
}

/** A setting that is the same on every node, else -1 (numbers) or '*' (strings): "varies". */
function same<T extends number | string> (values: T[], varies: T): T {
  return values.every((v) => v === values[0]) ? values[0] as T : varies
}

/** Sums the counters over nodes; a setting that differs between nodes is -1 or '*'. */
export function mergeChannelPolicies (list: Array<ChannelPolicyOut | undefined>): ChannelPolicyOut | undefined {
  const ps = list.filter((p): p is ChannelPolicyOut => p !== undefined)
  if (ps.length === 0) return undefined
  const sum = (k: 'dead_letter_count' | 'expired_count' | 'queue_bytes' | 'full_drop_count'): number => ps.reduce((a, p) => a + p[k], 0)
  return {
    max_attempts: same(ps.map((p) => p.max_attempts), -1),
    message_ttl_ms: same(ps.map((p) => p.message_ttl_ms), -1),
    dead_letter_topic: same(ps.map((p) => p.dead_letter_topic), '*'),
    dead_letter_count: sum('dead_letter_count'),
    expired_count: sum('expired_count'),
    max_queue_messages: same(ps.map((p) => p.max_queue_messages), -1),
    max_queue_bytes: same(ps.map((p) => p.max_queue_bytes), -1),
    queue_full_policy: same(ps.map((p) => p.queue_full_policy), '*'),
    queue_bytes: sum('queue_bytes'),
    full_drop_count: sum('full_drop_count')
  }
}

export function mergeTopicPolicies (list: Array<TopicPolicyOut | undefined>): TopicPolicyOut | undefined {
  const ps = list.filter((p): p is TopicPolicyOut => p !== undefined)
  if (ps.length === 0) return undefined
  const sum = (k: 'queue_bytes' | 'full_drop_count' | 'full_refused_count'): number => ps.reduce((a, p) => a + p[k], 0)
  return {
    max_queue_messages: same(ps.map((p) => p.max_queue_messages), -1),
    max_queue_bytes: same(ps.map((p) => p.max_queue_bytes), -1),
    queue_full_policy: same(ps.map((p) => p.queue_full_policy), '*'),
    queue_bytes: sum('queue_bytes'),
    full_drop_count: sum('full_drop_count'),
    full_refused_count: sum('full_refused_count')
  }
}
