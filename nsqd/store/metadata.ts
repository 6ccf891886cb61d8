// Topics, channels and paused flags, stored with msgpackr under `m/meta` in the node's LevelDB
// (NSQ keeps the same facts in nsqd.dat). Written as one put in the store's group commit, so a
// metadata change and the queue data written in the same tick land atomically.

import { Packr } from 'msgpackr'
import { isEphemeral, isValidChannelName, isValidTopicName } from '../../client/wire/names.js'
import { KEY_META } from './records.js'
import type { Store, StoreLogger } from './store.js'
import { parsePolicyConfig, type ChannelPolicyConfig } from '../core/policy.js'

export interface ChannelMeta {
  name: string
  paused: boolean
  /** Delivery policy set over POST /channel/config (absent when none). */
  config?: ChannelPolicyConfig
}

export interface TopicMeta {
  name: string
  paused: boolean
  /** Delivery policy defaults for its channels, set over POST /topic/config (absent when none). */
  config?: ChannelPolicyConfig
  channels: ChannelMeta[]
}

export interface Metadata {
  topics: TopicMeta[]
}

const METADATA_VERSION = 1
const packr = new Packr({ useRecords: false })

export function encodeMetadata (meta: Metadata): Buffer {
  const topics = []
  for (const t of meta.topics) {
    if (isEphemeral(t.name)) continue
    const channels = []
    for (const c of t.channels) {
      if (isEphemeral(c.name)) continue
      if (c.config !== undefined && Object.keys(c.config).length > 0) channels.push({ name: c.name, paused: c.paused, config: c.config })
      else channels.push({ name: c.name, paused: c.paused })
    }
    if (t.config !== undefined && Object.keys(t.config).length > 0) topics.push({ name: t.name, paused: t.paused, config: t.config, channels })
    else topics.push({ name: t.name, paused: t.paused, channels })
  }
  return packr.pack({ version: METADATA_VERSION, topics })
}

/** Decodes stored metadata; undefined (and a log line) when it is damaged. */
export function decodeMetadata (value: Buffer, logger?: StoreLogger): Metadata | undefined {
  let raw: unknown
  try {
    raw = packr.unpack(value)
  } catch (err) {
    logger?.error(`NSQ: stored metadata is damaged - ${(err as Error).message}`)
    return undefined
  }
  const obj = raw as { topics?: unknown }
  if (raw === null || typeof raw !== 'object' || !Array.isArray(obj.topics)) {
    logger?.error('NSQ: stored metadata is damaged - no topic list')
    return undefined
  }
  const topics: TopicMeta[] = []
  for (const t of obj.topics as Array<{ name?: unknown, paused?: unknown, channels?: unknown, config?: unknown }>) {
    if (typeof t?.name !== 'string' || !isValidTopicName(t.name)) {
      logger?.warn(`NSQ: skipping topic ${JSON.stringify(t?.name)} - invalid name`)
      continue
    }
    const channels: ChannelMeta[] = []
    for (const c of (Array.isArray(t.channels) ? t.channels : []) as Array<{ name?: unknown, paused?: unknown, config?: unknown }>) {
      if (typeof c?.name !== 'string' || !isValidChannelName(c.name)) {
        logger?.warn(`NSQ: skipping channel ${JSON.stringify(c?.name)} of topic ${t.name} - invalid name`)
        continue
      }
      const meta: ChannelMeta = { name: c.name, paused: c.paused === true }
      if (c.config !== undefined) {
        const config = parsePolicyConfig(c.config, t.name)
        if (typeof config === 'string') logger?.warn(`NSQ: ignoring the stored config of channel ${t.name}:${c.name} - ${config}`)
        else meta.config = config
      }
      channels.push(meta)
    }
    const topic: TopicMeta = { name: t.name, paused: t.paused === true, channels }
    if (t.config !== undefined) {
      const config = parsePolicyConfig(t.config, t.name)
      if (typeof config === 'string') logger?.warn(`NSQ: ignoring the stored config of topic ${t.name} - ${config}`)
      else topic.config = config
    }
    topics.push(topic)
  }
  return { topics }
}

/**
 * What to create at start: the stored metadata, plus any queue found on disk that the metadata
 * does not name (after a damaged metadata value or a repaired store), so no stored message is
 * orphaned.
 */
export function loadMetadata (store: Store): Metadata {
  const value = store.storedMeta
  const meta = (value !== undefined ? decodeMetadata(value, store.logger) : undefined) ?? { topics: [] }
  const byName = new Map<string, TopicMeta>()
  for (const t of meta.topics) byName.set(t.name, t)
  for (const queue of store.storedQueueNames()) {
    const colon = queue.indexOf(':')
    const topicName = colon < 0 ? queue : queue.slice(0, colon)
    const channelName = colon < 0 ? undefined : queue.slice(colon + 1)
    if (!isValidTopicName(topicName) || (channelName !== undefined && !isValidChannelName(channelName))) continue
    let topic = byName.get(topicName)
    if (topic === undefined) {
      store.logger.warn(`NSQ: recovering topic ${topicName} found on disk but not in metadata`)
      topic = { name: topicName, paused: false, channels: [] }
      byName.set(topicName, topic)
      meta.topics.push(topic)
    }
    if (channelName !== undefined && !topic.channels.some(c => c.name === channelName)) {
      store.logger.warn(`NSQ: recovering channel ${topicName}:${channelName} found on disk but not in metadata`)
      topic.channels.push({ name: channelName, paused: false })
    }
  }
  return meta
}

/** Queues the metadata for the next group commit; resolves once it is written. */
export function saveMetadata (store: Store, meta: Metadata): Promise<void> {
  store.push({ type: 'put', key: KEY_META, value: encodeMetadata(meta) })
  return store.whenCommitted()
}
