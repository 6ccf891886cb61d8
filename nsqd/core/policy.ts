// Per-channel delivery policies (issue 16; not in NSQ, all off by default): max attempts with a
// dead-letter topic, and a message TTL. The config set over HTTP (POST /channel/config) is kept in
// the metadata; the node-wide flags (--max-attempts, --message-ttl) apply where a channel sets none.

import { isValidTopicName } from '../../client/wire/names.js'
import type { BackendQueue } from '../store/backend-queue.js'
import type { MessageFifo } from './message-fifo.js'

/** What a channel's config may set; an absent field falls back to the node-wide flag. */
export interface ChannelPolicyConfig {
  /** Deliveries allowed; the one after the last goes to the dead-letter topic. 0 = unlimited. */
  max_attempts?: number
  /** Dead-letter topic; default `<topic>.dead`. */
  dead_letter_topic?: string
  /** Milliseconds a message may wait from its publish to its delivery. 0 = none. */
  message_ttl_ms?: number
  /** 'json': dead letters are a JSON object with their origin; 'none' (default): the plain body. */
  dead_letter_envelope?: 'none' | 'json'
  /** Bounded queue: messages queued (memory + disk, not in flight or deferred). 0 = no cap. */
  max_queue_messages?: number
  /** Bounded queue: body bytes queued (memory + disk). 0 = no cap. */
  max_queue_bytes?: number
  /** What a full bounded queue does with a new message: refuse the publish, or drop the oldest. */
  queue_full_policy?: QueueFullPolicy
}

export type QueueFullPolicy = 'refuse' | 'drop-oldest'

export function isQueueFullPolicy (v: unknown): v is QueueFullPolicy {
  return v === 'refuse' || v === 'drop-oldest'
}

/** Attempts are a u16 on the wire. */
export const MAX_ATTEMPTS_LIMIT = 65535

/** Why a config is refused: the HTTP error token. */
export type PolicyError = 'INVALID_JSON' | 'INVALID_MAX_ATTEMPTS' | 'INVALID_DEAD_LETTER_TOPIC' | 'INVALID_MESSAGE_TTL' | 'INVALID_ENVELOPE' | 'INVALID_CONFIG_KEY' |
'INVALID_MAX_QUEUE_MESSAGES' | 'INVALID_MAX_QUEUE_BYTES' | 'INVALID_QUEUE_FULL_POLICY'

const KEYS = new Set(['max_attempts', 'dead_letter_topic', 'message_ttl_ms', 'dead_letter_envelope', 'max_queue_messages', 'max_queue_bytes', 'queue_full_policy'])

function isCount (v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max
}

/**
 * Validates a config object for channel `channel` of `topic` (from JSON or the metadata). Returns the
 * normalised config or the error token; nothing is applied on error.
 */
export function parsePolicyConfig (raw: unknown, topic: string): ChannelPolicyConfig | PolicyError {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return 'INVALID_JSON'
  const o = raw as Record<string, unknown>
  for (const k of Object.keys(o)) if (!KEYS.has(k)) return 'INVALID_CONFIG_KEY'
  const out: ChannelPolicyConfig = {}
  if (o.max_attempts !== undefined) {
    if (!isCount(o.max_attempts, MAX_ATTEMPTS_LIMIT)) return 'INVALID_MAX_ATTEMPTS'
    out.max_attempts = o.max_attempts
  }
  if (o.dead_letter_topic !== undefined) {
    const t = o.dead_letter_topic
    if (typeof t !== 'string' || !isValidTopicName(t) || t === topic) return 'INVALID_DEAD_LETTER_TOPIC'
    out.dead_letter_topic = t
  }
  if (o.message_ttl_ms !== undefined) {
    if (!isCount(o.message_ttl_ms, Number.MAX_SAFE_INTEGER)) return 'INVALID_MESSAGE_TTL'
    out.message_ttl_ms = o.message_ttl_ms
  }
  if (o.dead_letter_envelope !== undefined) {
    if (o.dead_letter_envelope !== 'none' && o.dead_letter_envelope !== 'json') return 'INVALID_ENVELOPE'
    out.dead_letter_envelope = o.dead_letter_envelope
  }
  if (o.max_queue_messages !== undefined) {
    if (!isCount(o.max_queue_messages, Number.MAX_SAFE_INTEGER)) return 'INVALID_MAX_QUEUE_MESSAGES'
    out.max_queue_messages = o.max_queue_messages
  }
  if (o.max_queue_bytes !== undefined) {
    if (!isCount(o.max_queue_bytes, Number.MAX_SAFE_INTEGER)) return 'INVALID_MAX_QUEUE_BYTES'
    out.max_queue_bytes = o.max_queue_bytes
  }
  if (o.queue_full_policy !== undefined) {
    if (!isQueueFullPolicy(o.queue_full_policy)) return 'INVALID_QUEUE_FULL_POLICY'
    out.queue_full_policy = o.queue_full_policy
  }
  return out
}

/** A queue's effective cap (0 = none for each bound). */
export interface QueueCap {
  maxMessages: number
  maxBytes: number
  dropOldest: boolean
}

/** The node-wide flags a cap falls back to. */
export interface QueueCapDefaults {
  readonly maxQueueMessages?: number
  readonly maxQueueBytes?: number
  readonly queueFullPolicy?: QueueFullPolicy
}

/** The effective cap from a config, then the topic's config (for a channel), then the flags. */
export function effectiveCap (own: ChannelPolicyConfig, topic: ChannelPolicyConfig, node: QueueCapDefaults): QueueCap {
  return {
    maxMessages: own.max_queue_messages ?? topic.max_queue_messages ?? node.maxQueueMessages ?? 0,
    maxBytes: own.max_queue_bytes ?? topic.max_queue_bytes ?? node.maxQueueBytes ?? 0,
    dropOldest: (own.queue_full_policy ?? topic.queue_full_policy ?? node.queueFullPolicy ?? 'refuse') === 'drop-oldest'
  }
}

/** True when `depth` messages of `bytes` body bytes plus `n` more of `addBytes` exceed the cap. */
export function overCap (cap: QueueCap, depth: number, bytes: number, n: number, addBytes: number): boolean {
  return (cap.maxMessages > 0 && depth + n > cap.maxMessages) || (cap.maxBytes > 0 && bytes + addBytes > cap.maxBytes)
}

/** A bounded queue: a topic's own backlog or a channel's queue (memory, then disk). */
export interface CappedQueue {
  readonly memQueue: MessageFifo
  readonly backend: BackendQueue
  readonly depth: number
  readonly depthBytes: number
}

/**
 * Drop-oldest: drops the oldest queued messages of `q` (memory first: it holds the older ones) until
 * it is within `cap`, and returns how many. A message taken from the backend advances its read
 * position in the store batch of this tick. When the oldest is still on disk and not yet read back,
 * the queue stays over its cap (see trimWaits) until the backend can hand it out.
 */
export function dropOldest (q: CappedQueue, cap: QueueCap): number {
  let dropped = 0
  while (overCap(cap, q.depth, q.depthBytes, 0, 0)) {
    if (q.memQueue.shift() === undefined && q.backend.shift() === undefined) break
    dropped++
  }
  return dropped
}

/** After dropOldest: the rest of the trim waits for the backend to read its oldest messages back. */
export function trimWaits (q: CappedQueue, cap: QueueCap): boolean {
  return q.backend.depth() > 0 && overCap(cap, q.depth, q.depthBytes, 0, 0)
}

/**
 * Policy counters survive restarts: the store keeps what `read` returns beside the queue's byte
 * count, in the batch of the queue change that moved them. Returns the values stored at the last
 * run (undefined for a queue without a store, or none stored).
 */
export function persistCounters (backend: BackendQueue, read: () => readonly number[]): readonly number[] | undefined {
  if (backend.markCountersDirty === undefined) return undefined
  backend.countersSource = read
  return backend.restoredCounters?.()
}

/** A counter kept by persistCounters changed: written with this tick's batch. */
export function countersChanged (backend: BackendQueue): void {
  if (backend.markCountersDirty !== undefined) backend.markCountersDirty()
}

/** The JSON envelope of a dead letter (dead_letter_envelope: 'json'). */
export function deadLetterEnvelope (origin: { topic: string, channel: string, id: string, attempts: number, timestampNs: number, reason: string, lastError: string | null }, body: Buffer): Buffer {
  return Buffer.from(JSON.stringify({
    topic: origin.topic,
    channel: origin.channel,
    id: origin.id,
    attempts: origin.attempts,
    timestamp: origin.timestampNs,
    reason: origin.reason,
    last_error: origin.lastError,
    body: body.toString('base64')
  }))
}
