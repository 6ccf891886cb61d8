// Targeted push across a cluster (--gateway-user-push, README "Targeted push"): while a WebSocket
// authenticated as identity U is connected here, this node consumes topic `user.U` (channel
// `gateway`) from every nsqd that lookupd knows, with the project's own client Consumer and U's
// own secret, and forwards each message to U's connections here. So a message published to
// `user.U` on any node reaches U wherever U is connected; while U is connected nowhere, it waits
// in `user.U` on the node it was published to (with that topic's limits).

import { isValidTopicName } from '../../client/wire/names.js'
import { Consumer } from '../../client/consumer.js'
import type { Message } from '../../client/message.js'
import type { NSQD } from '../nsqd.js'

/** Where pushed messages go: a WebSocket session. */
export interface PushSink {
  push (topic: string, msg: Message<Buffer>): boolean
}

interface UserEntry {
  consumer: Consumer<Buffer>
  sinks: Set<PushSink>
}

export const USER_PUSH_CHANNEL = 'gateway'

export class UserPush {
  private readonly nsqd: NSQD
  private readonly users = new Map<string, UserEntry>()

  constructor (nsqd: NSQD) {
    this.nsqd = nsqd
  }

  /** The topic for an identity, or null when `user.<identity>` is not a valid topic name. */
  static topicFor (identity: string): string | null {
    const t = `user.${identity}`
    return identity !== '' && isValidTopicName(t) ? t : null
  }

  /** A connection of `identity` opened (secret: the one it authenticated with). */
  add (identity: string, secret: string, sink: PushSink): void {
    const topic = UserPush.topicFor(identity)
    if (topic === null) return
    let e = this.users.get(identity)
    if (e === undefined) {
      const lookupd = this.nsqd.lookup?.httpAddresses ?? []
      const consumer = new Consumer<Buffer>({
        topic,
        channel: USER_PUSH_CHANNEL,
        ...(lookupd.length > 0 ? { lookupdHttpAddresses: lookupd } : { nsqdTcpAddresses: [this.nsqd.tcpAddress] }),
        lookupdPollIntervalMs: this.nsqd.options.gatewayUserPushPollMs,
        maxInFlight: 100,
        requeueDelayMs: 1000,
        authSecret: secret === '' ? null : secret
      })
      const entry: UserEntry = { consumer, sinks: new Set() }
      consumer.handle((msg) => {
        let sent = false
        for (const s of entry.sinks) if (s.push(topic, msg)) sent = true
        // nobody to give it to (the last connection just left): back to the queue
        if (!sent) msg.requeue(1000)
      })
      consumer.on('error', (err: Error) => { this.nsqd.logger.debug(`GATEWAY: ${topic} consumer: ${err.message}`) })
      consumer.connect().catch((err: Error) => { this.nsqd.logger.warn(`GATEWAY: ${topic} consumer: ${err.message}`) })
      e = entry
      this.users.set(identity, e)
      this.nsqd.logger.info(`GATEWAY: consuming ${topic} for ${identity}`)
    }
    e.sinks.add(sink)
  }

  remove (identity: string, sink: PushSink): void {
    const e = this.users.get(identity)
    if (e === undefined || !e.sinks.delete(sink) || e.sinks.size > 0) return
    this.users.delete(identity)
    e.consumer.close().catch(() => {})
  }

  close (): void {
    for (const e of this.users.values()) e.consumer.close().catch(() => {})
    this.users.clear()
  }
}
