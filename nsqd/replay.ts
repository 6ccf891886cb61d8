// Dead-letter replay (not in NSQ; issue 17): moves messages from a dead-letter topic's queue (or
// one of its channels' queues) back to their origin topic, each exactly once.
//
// Each move is a removal from the source queue and a publish to the origin done in the same
// synchronous block, so the store writes both in one atomic batch (as NSQD.deadLetter does the other
// way): after a crash a message is either still in the dead-letter queue or already in its origin,
// never both and never neither. A message in the middle of a queue (replay of selected ids) is
// removed without reordering the rest (a tombstone on disk, see LevelBackendQueue.remove). The
// replayed message is a new one (new id, attempts 0, timestamp now, so an origin TTL does not expire
// it at once); with the JSON envelope of dead_letter_envelope=json its original body is restored
// and, unless `to` is given, it goes back to the topic the envelope names.

import type { NSQD } from './nsqd.js'
import type { Message } from './core/message.js'
import { nowNs } from './core/message.js'
import { scanQueued, type QueueHolder } from './core/peek.js'
import { isValidTopicName } from '../client/wire/names.js'

/** Messages moved per store batch. */
const REPLAY_BATCH = 256

export interface ReplayRequest {
  /** The dead-letter topic (the source, or the topic of the source channel). */
  sourceTopic: string
  /** Its queue, or the queue of one of its channels. */
  source: QueueHolder
  /**
   * Explicit target (`to`); null: the envelope's origin, else `defaultTarget`; a message with
   * neither (a plain body in a topic not named `<origin>.dead`) is left where it is.
   */
  to: string | null
  /** `<origin>` of `<origin>.dead`, when the source is so named. */
  defaultTarget: string | null
  /** Only these ids (any position); null: from the head. */
  ids: Set<string> | null
  /** At most this many. */
  limit: number
}

export interface ReplayResult {
  moved: number
  /** Why the replay stopped early (node exiting, draining or unhealthy); absent when it finished. */
  stopped?: string
}

interface Envelope { topic: string, body: Buffer }

/** The JSON envelope of a dead letter (nsqd/core/policy.ts), or null for a plain body. */
export function parseEnvelope (body: Buffer): Envelope | null {
  if (body.length < 2 || body[0] !== 0x7b) return null
  let v: unknown
  try {
    v = JSON.parse(body.toString('utf8'))
  } catch {
    return null
  }
  if (typeof v !== 'object' || v === null) return null
  const o = v as Record<string, unknown>
  if (typeof o.topic !== 'string' || typeof o.channel !== 'string' || typeof o.body !== 'string' || typeof o.reason !== 'string') return null
  return { topic: o.topic, body: Buffer.from(o.body, 'base64') }
}

interface Candidate { msg: Message, seq: number, inMemory: boolean, target: string, body: Buffer }

/** Why the node cannot take a replay now, or null. */
function refusal (nsqd: NSQD): string | null {
  if (nsqd.isExiting) return 'exiting'
  if (nsqd.draining) return 'draining'
  if (!nsqd.isHealthy) return nsqd.healthError ?? 'unhealthy'
  return null
}

export async function replay (nsqd: NSQD, req: ReplayRequest): Promise<ReplayResult> {
  const { source, ids } = req
  let moved = 0
  let failed: string | null = null
  const cands: Candidate[] = []
  while (moved < req.limit) {
    const want = Math.min(REPLAY_BATCH, req.limit - moved)
    cands.length = 0
    await scanQueued(source, (msg, seq, inMemory) => {
      if (ids !== null && !ids.has(msg.id)) return true
      const env = parseEnvelope(msg.body)
      let target = req.to ?? req.defaultTarget
      if (req.to === null && env !== null && env.topic !== req.sourceTopic && isValidTopicName(env.topic)) target = env.topic
      if (target !== null) cands.push({ msg, seq, inMemory, target, body: env !== null ? env.body : msg.body })
      return cands.length < want
    })
    if (cands.length === 0) break
    const why = refusal(nsqd)
    if (why !== null) return { moved, stopped: why }
    // one synchronous block: every removal and its publish land in the same store batch
    for (const c of cands) {
      const removed = c.inMemory
        ? source.memQueue.removeFirst((m) => m === c.msg) !== undefined
        : source.backend.remove !== undefined && source.backend.remove(c.msg, c.seq)
      if (!removed) continue
      if (ids !== null) ids.delete(c.msg.id)
      const topic = nsqd.getTopic(c.target)
      if (!topic.put(topic.newMessage(c.body, nowNs()))) {
        // never lose it: back into the source queue (at its end), in the same batch as the removal
        const kept = source.put(c.msg)
        nsqd.logger.error(`TOPIC(${req.sourceTopic}): replay of ${c.msg.id} to ${c.target} failed to publish; ${kept ? 'kept at the end of the dead-letter queue' : 'and could not be put back'}`)
        failed = `failed to publish to ${c.target}`
        break
      }
      moved++
    }
    // one batch per commit: bounded memory, and a replay never outruns the disk
    const store = nsqd.store
    if (store !== null) await store.store.whenCommitted().catch(() => {})
    else await new Promise<void>((resolve) => { setImmediate(resolve) })
    if (failed !== null) return { moved, stopped: failed }
    if (ids !== null && ids.size === 0) break
  }
  return { moved }
}
