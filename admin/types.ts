// JSON shapes: what nsqd (/stats, /info) and nsqlookupd (/lookup, /nodes) send us (spec:
// nsqd-http.md §6, lookupd.md §5), and what the admin's /api answers (spec: nsqadmin.md §4).

import type { ChannelPolicyOut, TopicPolicyOut } from './policies.js'

export interface E2eInput {
  count: number
  percentiles: Array<{ quantile: number, value: number }> | null
}

export interface NsqdClient {
  client_id: string
  hostname: string
  version: string
  remote_address: string
  state: number
  ready_count: number
  in_flight_count: number
  message_count: number
  finish_count: number
  requeue_count: number
  connect_ts: number
  sample_rate: number
  deflate: boolean
  snappy: boolean
  user_agent: string
  authed?: boolean
  auth_identity?: string
  auth_identity_url?: string
  topology_zone?: string
  topology_region?: string
  tls: boolean
  tls_cipher_suite: string
  tls_version: string
  tls_negotiated_protocol: string
  tls_negotiated_protocol_is_mutual: boolean
}

export interface NsqdChannel {
  channel_name: string
  depth: number
  backend_depth: number
  in_flight_count: number
  deferred_count: number
  message_count: number
  zone_local_msg_count?: number
  region_local_msg_count?: number
  global_msg_count?: number
  requeue_count: number
  timeout_count: number
  client_count: number
  clients: NsqdClient[] | null
  paused: boolean
  e2e_processing_latency?: E2eInput
  /** Delivery policies and bounded queues (nsqd beyond NSQ, issue 16): only where set. */
  max_attempts?: number
  message_ttl_ms?: number
  dead_letter_topic?: string
  dead_letter_count?: number
  expired_count?: number
  queue_bytes?: number
  max_queue_messages?: number
  max_queue_bytes?: number
  queue_full_policy?: string
  full_drop_count?: number
}

export interface NsqdTopic {
  topic_name: string
  channels: NsqdChannel[] | null
  depth: number
  backend_depth: number
  message_count: number
  message_bytes?: number
  paused: boolean
  e2e_processing_latency?: E2eInput
  /** Bounded queues (nsqd beyond NSQ): only where a cap applies. */
  queue_bytes?: number
  max_queue_messages?: number
  max_queue_bytes?: number
  queue_full_policy?: string
  full_drop_count?: number
  full_refused_count?: number
}

export interface NsqdStats {
  version: string
  health: string
  start_time: number
  topics: NsqdTopic[] | null
  memory?: Record<string, number>
  producers?: unknown[] | null
  /** A replicated nsqd (nsqd/replication): role, group, epoch, in-sync set, standbys and their lag. */
  replication?: Record<string, unknown>
  /** Drain mode (nsqd/drain.ts): present only while the node drains. */
  draining?: boolean
  drain_remaining?: number
  drain_stuck_topics?: string[]
}

export interface NsqdInfo {
  version: string
  broadcast_address: string
  hostname: string
  http_port: number
  tcp_port: number
  topology_zone?: string
  topology_region?: string
}

export interface LookupPeer {
  remote_address: string
  hostname: string
  broadcast_address: string
  tcp_port: number
  http_port: number
  version: string
  topology_zone?: string
  topology_region?: string
}

export interface LookupNode extends LookupPeer {
  tombstones: boolean[]
  topics: string[]
}

/** One member of a replication group as the nodes page lists it (nsqd/replication). */
export interface ReplicationMember {
  /** <broadcast address>:<http port> (a standby that did not say: its replication address). */
  node: string
  id: string
  role: 'primary' | 'standby'
  hostname: string
  tcp_port: number
  http_port: number
  /** primary: 'serving'; standby: connecting, snapshot, streaming, idle, disconnected */
  state: string
  in_sync: boolean
  /** Batches shipped by the primary and not yet acknowledged; null when no primary answered. */
  lag: number | null
  acked_seq: number | null
}

/** A replication group seen through its primary's (and standbys') /info. */
export interface ReplicationGroupOut {
  group: string
  epoch: number
  /** The primary's node name, '' when no primary answered. */
  primary: string
  replication_factor: number
  min_insync_replicas: number
  in_sync_count: number
  members: ReplicationMember[]
}

/** One nsqd as the admin knows it. */
export interface Producer {
  remote_addresses: string[] | null
  remote_address: string
  hostname: string
  broadcast_address: string
  tcp_port: number
  http_port: number
  version: string
  topology_zone?: string
  topology_region?: string
  topics: Array<{ topic: string, tombstoned: boolean }>
  out_of_date: boolean
  /** Replication (nsqd/replication), not in NSQ: present only for a replicated node. */
  replication?: { group: string, role: string, epoch: number }
  /** Drain mode (nsqd/drain.ts), not in NSQ: present (true) only for a node that is draining. */
  draining?: true
}

/** A failure of one upstream host; the rest of the answer is still good. */
export interface NodeError {
  kind: 'lookupd' | 'nsqd' | 'notification'
  /** host:port queried */
  address: string
  error: string
}

export interface E2eAggregate {
  count: number
  percentiles: Array<{ quantile: number, max: number, min: number, average: number, count: number, value?: number }>
  topic: string
  channel: string
  host: string
}

export interface ClientOut extends NsqdClient {
  node: string
  connected: number
}

export interface ChannelOut {
  node: string
  hostname: string
  topic_name: string
  channel_name: string
  depth: number
  memory_depth: number
  backend_depth: number
  in_flight_count: number
  deferred_count: number
  requeue_count: number
  timeout_count: number
  message_count: number
  delivery_msg_count?: number
  zone_local_msg_count?: number
  region_local_msg_count?: number
  global_msg_count?: number
  client_count: number
  nodes: ChannelOut[] | null
  clients: ClientOut[]
  paused: boolean
  e2e_processing_latency: E2eAggregate | null
  /** Delivery policies and bounded queues (admin/policies.ts): only where a node reports them. */
  policy?: ChannelPolicyOut
}

export interface TopicOut {
  node: string
  hostname: string
  topic_name: string
  depth: number
  memory_depth: number
  backend_depth: number
  message_count: number
  delivery_msg_count?: number
  zone_local_msg_count?: number
  region_local_msg_count?: number
  global_msg_count?: number
  nodes: TopicOut[] | null
  channels: ChannelOut[] | null
  paused: boolean
  e2e_processing_latency: E2eAggregate | null
  /** The topic's own bounded-queue cap and counters (admin/policies.ts): only where reported. */
  policy?: TopicPolicyOut
}
