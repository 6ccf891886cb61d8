// nsqd's options: one Options type, NSQ's defaults and flag names (nsqd-internals.md §18).
// Only main.ts reads argv; the library takes an Options object.

import os from 'node:os'
import type { FlagSpec, FlagValues } from '../client/wire/flags.js'
import type { Logger } from './logger.js'
import { defaultNodeId } from './core/guid.js'

export const VERSION = '1.3.0'

export interface Options {
  nodeId: number
  logLevel: string
  logPrefix: string
  logger: Logger | null

  tcpAddress: string
  httpAddress: string
  httpsAddress: string
  broadcastAddress: string
  broadcastTcpPort: number
  broadcastHttpPort: number
  lookupdTcpAddresses: string[]
  /** Beyond NSQ (fixed 15 s there): how often nsqd PINGs each lookupd. */
  lookupdPingIntervalMs: number
  httpClientConnectTimeoutMs: number
  httpClientRequestTimeoutMs: number
  topologyRegion: string
  topologyZone: string

  authHttpAddresses: string[]
  authHttpRequestMethod: string
  /** Beyond NSQ: '' (off), 'publish' (/pub, /mpub) or 'all' (also topic/channel actions, PUT /config) need AUTH. */
  httpAuth: string
  /** Beyond NSQ: the browser gateway (/ws, /sse) on the HTTP port (nsqd/gateway); off by default. */
  httpGateway: boolean
  /** Beyond NSQ: after a drain (PUT /config/draining, SIGUSR2) completes, the process exits 0 (nsqd/drain.ts). */
  drainExit: boolean
  /** Most gateway connections (WebSocket + SSE) at once; 0: no limit. */
  gatewayMaxConnections: number
  /** Origins allowed to open gateway connections (empty: any). */
  wsAllowedOrigins: string[]
  /** Beyond NSQ: consume user.<identity> for authenticated WebSocket connections (nsqd/gateway). */
  gatewayUserPush: boolean
  /** Not a flag: how often those consumers ask lookupd for new producers (tests shorten it). */
  gatewayUserPushPollMs: number

  dataPath: string
  memQueueSize: number
  maxBytesPerFile: number
  /** Beyond NSQ: memory of accepted messages not yet written to the data store before publishers wait. */
  storeBacklogSize: number
  /** Beyond NSQ: LevelDB's in-memory write buffer (it can hold two while one is flushed). */
  storeWriteBufferSize: number
  syncEvery: number
  syncTimeoutMs: number
  queueScanWorkerPoolMax: number
  queueScanSelectionCount: number
  /** Not a flag in NSQ (fixed 100 ms); tests shorten it. */
  queueScanIntervalMs: number

  msgTimeoutMs: number
  maxMsgTimeoutMs: number
  maxMsgSize: number
  maxBodySize: number
  maxReqTimeoutMs: number
  /** Cap on DPUB and /pub, /mpub `defer`; 0 = --max-req-timeout, as NSQ (not in NSQ 1.3). */
  maxDeferTimeoutMs: number
  /** NSQ's ClientTimeout (fixed 60 s; the default heartbeat is half of it). */
  clientTimeoutMs: number

  maxHeartbeatIntervalMs: number
  maxRdyCount: number
  maxOutputBufferSize: number
  maxOutputBufferTimeoutMs: number
  minOutputBufferTimeoutMs: number
  outputBufferTimeoutMs: number
  maxChannelConsumers: number
  /** Deliveries per message before it goes to its channel's dead-letter topic; 0 = unlimited (not in NSQ). */
  maxAttempts: number
  /** Ms a message may wait before delivery; older ones are dead-lettered or dropped; 0 = none (not in NSQ). */
  messageTtlMs: number
  /** Bounded queues, per topic and channel: messages queued (memory + disk); 0 = no cap (not in NSQ). */
  maxQueueMessages: number
  /** Bounded queues: body bytes queued (memory + disk); 0 = no cap (not in NSQ). */
  maxQueueBytes: number
  /** What a full bounded queue does: 'refuse' the publish or 'drop-oldest' (not in NSQ). */
  queueFullPolicy: 'refuse' | 'drop-oldest'

  statsdAddress: string
  statsdIntervalMs: number
  statsdMemStats: boolean
  statsdPrefix: string
  statsdUdpPacketSize: number
  statsdExcludeEphemeral: boolean

  e2eProcessingLatencyPercentiles: number[]
  e2eProcessingLatencyWindowTimeMs: number

  tlsCert: string
  tlsKey: string
  tlsClientAuthPolicy: string
  tlsRootCaFile: string
  tlsRequired: number
  tlsMinVersion: string

  deflate: boolean
  maxDeflateLevel: number
  snappy: boolean

  enableExperiments: string[]

  /** Replication (beyond NSQ; nsqd/replication/README.md): '' = off, no etcd needed. */
  replicationGroup: string
  replicationFactor: number
  minInsyncReplicas: number
  etcdEndpoints: string[]
  replicationSessionTtlMs: number
  replicaLagTimeoutMs: number
  replicationAddress: string
  /** Bytes of recent batches kept in memory for standbys that reconnect (incremental catch-up). */
  replicationTailSize: number
}

export const TLS_NOT_REQUIRED = 0
export const TLS_REQUIRED_EXCEPT_HTTP = 1
export const TLS_REQUIRED = 2

export function defaultOptions (): Options {
  const hostname = os.hostname()
  return {
    nodeId: defaultNodeId(hostname),
    logLevel: 'info',
    logPrefix: '[nsqd] ',
    logger: null,

    tcpAddress: '0.0.0.0:4150',
    httpAddress: '0.0.0.0:4151',
    httpsAddress: '0.0.0.0:4152',
    broadcastAddress: hostname,
    broadcastTcpPort: 0,
    broadcastHttpPort: 0,
    lookupdTcpAddresses: [],
    lookupdPingIntervalMs: 15_000,
    httpClientConnectTimeoutMs: 2000,
    httpClientRequestTimeoutMs: 5000,
    topologyRegion: '',
    topologyZone: '',

    authHttpAddresses: [],
    authHttpRequestMethod: 'get',
    httpAuth: '',
    httpGateway: false,
    drainExit: true,
    gatewayMaxConnections: 1000,
    wsAllowedOrigins: [],
    gatewayUserPush: false,
    gatewayUserPushPollMs: 5000,

    dataPath: '',
    memQueueSize: 10000,
    maxBytesPerFile: 100 * 1024 * 1024,
    storeBacklogSize: 8 * 1024 * 1024,
    storeWriteBufferSize: 4 * 1024 * 1024,
    syncEvery: 2500,
    syncTimeoutMs: 2000,
    queueScanWorkerPoolMax: 4,
    queueScanSelectionCount: 20,
    queueScanIntervalMs: 100,

    msgTimeoutMs: 60_000,
    maxMsgTimeoutMs: 15 * 60_000,
    maxMsgSize: 1024 * 1024,
    maxBodySize: 5 * 1024 * 1024,
    maxReqTimeoutMs: 60 * 60_000,
    maxDeferTimeoutMs: 0,
    clientTimeoutMs: 60_000,

    maxHeartbeatIntervalMs: 60_000,
    maxRdyCount: 2500,
    maxOutputBufferSize: 64 * 1024,
    maxOutputBufferTimeoutMs: 30_000,
    minOutputBufferTimeoutMs: 25,
    outputBufferTimeoutMs: 250,
    maxChannelConsumers: 0,
    maxAttempts: 0,
    messageTtlMs: 0,
    maxQueueMessages: 0,
    maxQueueBytes: 0,
    queueFullPolicy: 'refuse',

    statsdAddress: '',
    statsdIntervalMs: 60_000,
    statsdMemStats: true,
    statsdPrefix: 'nsq.%s',
    statsdUdpPacketSize: 508,
    statsdExcludeEphemeral: false,

    e2eProcessingLatencyPercentiles: [],
    e2eProcessingLatencyWindowTimeMs: 10 * 60_000,

    tlsCert: '',
    tlsKey: '',
    tlsClientAuthPolicy: '',
    tlsRootCaFile: '',
    tlsRequired: TLS_NOT_REQUIRED,
    tlsMinVersion: 'tls1.0',

    deflate: true,
    maxDeflateLevel: 6,
    snappy: true,

    enableExperiments: [],

    replicationGroup: '',
    replicationFactor: 3,
    minInsyncReplicas: 2,
    etcdEndpoints: ['127.0.0.1:2379'],
    replicationSessionTtlMs: 5000,
    replicaLagTimeoutMs: 2000,
    replicationAddress: '0.0.0.0:4153',
    replicationTailSize: 32 * 1024 * 1024
  }
}

/** Flag name, kind and Options key, in one table. */
interface FlagBinding { spec: FlagSpec, key: keyof Options | null }

function b (name: string, kind: FlagSpec['kind'], key: keyof Options | null, usage: string, configKey?: string): FlagBinding {
  const d = defaultOptions()
  let def: FlagSpec['default']
  if (key === null) def = kind === 'bool' ? false : kind === 'strings' ? [] : ''
  else def = d[key] as FlagSpec['default']
  if (name === 'broadcast-address') def = d.broadcastAddress
  const spec: FlagSpec = { name, kind, default: def, usage }
  if (configKey !== undefined) spec.configKey = configKey
  return { spec, key }
}

export const FLAG_BINDINGS: readonly FlagBinding[] = [
  b('config', 'string', null, 'path to config file'),
  b('version', 'bool', null, 'print version string'),
  b('log-level', 'string', 'logLevel', 'set log verbosity: debug, info, warn, error, or fatal'),
  b('log-prefix', 'string', 'logPrefix', 'log message prefix'),
  b('verbose', 'bool', null, '[deprecated] has no effect, use --log-level'),
  b('node-id', 'int', 'nodeId', 'unique part for message IDs, (int) in range [0,1024) (default is hash of hostname)', 'id'),
  b('worker-id', 'int', null, '[deprecated] use --node-id'),

  b('tcp-address', 'string', 'tcpAddress', '<addr>:<port> to listen on for TCP clients'),
  b('http-address', 'string', 'httpAddress', '<addr>:<port> to listen on for HTTP clients'),
  b('https-address', 'string', 'httpsAddress', '<addr>:<port> to listen on for HTTPS clients'),
  b('broadcast-address', 'string', 'broadcastAddress', 'address that will be registered with lookupd (defaults to the OS hostname)'),
  b('broadcast-tcp-port', 'int', 'broadcastTcpPort', 'TCP port that will be registered with lookupd (defaults to the TCP port that this nsqd is listening on)'),
  b('broadcast-http-port', 'int', 'broadcastHttpPort', 'HTTP port that will be registered with lookupd (defaults to the HTTP port that this nsqd is listening on)'),
  b('lookupd-tcp-address', 'strings', 'lookupdTcpAddresses', 'lookupd TCP address (may be given multiple times)', 'nsqlookupd_tcp_addresses'),
  b('lookupd-ping-interval', 'duration', 'lookupdPingIntervalMs', 'how often to PING each nsqlookupd (not in NSQ, which always uses 15s)'),
  b('http-client-connect-timeout', 'duration', 'httpClientConnectTimeoutMs', 'timeout for HTTP connect'),
  b('http-client-request-timeout', 'duration', 'httpClientRequestTimeoutMs', 'timeout for HTTP request'),
  b('topology-region', 'string', 'topologyRegion', 'A region represents a larger geographic area (optional)'),
  b('topology-zone', 'string', 'topologyZone', 'A zone represents a specific location within a region (optional)'),

  b('auth-http-address', 'strings', 'authHttpAddresses', '<addr>:<port> or a full url to query auth server (may be given multiple times)', 'auth_http_addresses'),
  b('auth-http-request-method', 'string', 'authHttpRequestMethod', 'HTTP method to use for auth server requests (get or post)'),
  b('http-auth', 'string', 'httpAuth', 'authenticate HTTP requests (Authorization: Bearer <secret>) against the auth server: publish (/pub, /mpub) or all (also topic/channel actions and PUT /config); not in NSQ, off by default'),
  b('drain-exit', 'bool', 'drainExit', 'exit 0 once a drain (PUT /config/draining, SIGUSR2) has delivered every message; false keeps the empty node running; not in NSQ'),
  b('http-gateway', 'bool', 'httpGateway', 'serve the browser gateway (WebSocket at /ws, Server-Sent Events at /sse) on the HTTP port; not in NSQ, off by default'),
  b('gateway-max-connections', 'int', 'gatewayMaxConnections', 'maximum number of browser gateway connections (WebSocket and SSE) at once; 0 for no limit'),
  b('gateway-user-push', 'bool', 'gatewayUserPush', 'while a gateway WebSocket authenticated as identity U is connected, consume topic user.U (channel gateway) from the cluster through lookupd and push its messages to U; needs --http-gateway and --auth-http-address'),
  b('ws-allowed-origins', 'strings', 'wsAllowedOrigins', 'Origin allowed to open a gateway connection (may be given multiple times, or comma separated; default: any)'),

  b('data-path', 'string', 'dataPath', 'path to store disk-backed messages'),
  b('mem-queue-size', 'int', 'memQueueSize', 'number of messages to keep in memory (per topic/channel)'),
  b('max-bytes-per-file', 'int', 'maxBytesPerFile', 'number of bytes per diskqueue file before rolling (accepted for compatibility; the LevelDB store packs messages into chunks instead)'),
  b('store-backlog-size', 'int', 'storeBacklogSize', 'memory (bytes: bodies plus ~300 per message) of accepted messages waiting to be written to the data store; above it publishers wait (not in NSQ)'),
  b('store-write-buffer-size', 'int', 'storeWriteBufferSize', 'size (bytes) of the data store\'s in-memory write buffer; it holds up to two (not in NSQ)'),
  b('sync-every', 'int', 'syncEvery', 'number of messages per diskqueue fsync'),
  b('sync-timeout', 'duration', 'syncTimeoutMs', 'duration of time per diskqueue fsync'),
  b('queue-scan-worker-pool-max', 'int', 'queueScanWorkerPoolMax', 'max concurrency for checking in-flight and deferred message timeouts'),
  b('queue-scan-selection-count', 'int', 'queueScanSelectionCount', 'number of channels to check per cycle (every 100ms) for in-flight and deferred timeouts'),

  b('msg-timeout', 'duration', 'msgTimeoutMs', 'default duration to wait before auto-requeing a message'),
  b('max-msg-timeout', 'duration', 'maxMsgTimeoutMs', 'maximum duration before a message will timeout'),
  b('max-msg-size', 'int', 'maxMsgSize', 'maximum size of a single message in bytes'),
  b('max-body-size', 'int', 'maxBodySize', 'maximum size of a single command body'),
  b('max-req-timeout', 'duration', 'maxReqTimeoutMs', 'maximum requeuing timeout for a message'),
  b('max-defer-timeout', 'duration', 'maxDeferTimeoutMs', 'maximum publish deferral (DPUB, /pub?defer=, /mpub?defer=); 0 = --max-req-timeout, as NSQ 1.3, where /mpub ignores defer (not in NSQ 1.3)'),

  b('max-heartbeat-interval', 'duration', 'maxHeartbeatIntervalMs', 'maximum client configurable duration of time between client heartbeats'),
  b('max-rdy-count', 'int', 'maxRdyCount', 'maximum RDY count for a client'),
  b('max-output-buffer-size', 'int', 'maxOutputBufferSize', 'maximum client configurable size (in bytes) for a client output buffer'),
  b('max-output-buffer-timeout', 'duration', 'maxOutputBufferTimeoutMs', 'maximum client configurable duration of time between flushing to a client'),
  b('min-output-buffer-timeout', 'duration', 'minOutputBufferTimeoutMs', 'minimum client configurable duration of time between flushing to a client'),
  b('output-buffer-timeout', 'duration', 'outputBufferTimeoutMs', 'default duration of time between flushing data to clients'),
  b('max-channel-consumers', 'int', 'maxChannelConsumers', 'maximum channel consumer connection count per nsqd instance (default 0, i.e., unlimited)'),
  b('max-attempts', 'int', 'maxAttempts', 'deliveries per message; the next one is published to the channel\'s dead-letter topic (<topic>.dead) instead (0 = unlimited, as NSQ; not in NSQ)'),
  b('message-ttl', 'duration', 'messageTtlMs', 'a message older than this at delivery is not delivered: dead-lettered where dead-lettering is on, else dropped (0 = none; not in NSQ)'),
  b('max-queue-messages', 'int', 'maxQueueMessages', 'bounded queues: messages a topic or channel may hold queued, in memory and on disk (not in flight or deferred); 0 = no cap (not in NSQ)'),
  b('max-queue-bytes', 'int', 'maxQueueBytes', 'bounded queues: message body bytes a topic or channel may hold queued, in memory and on disk; 0 = no cap (not in NSQ)'),
  b('queue-full-policy', 'string', 'queueFullPolicy', 'what a full bounded queue does with a new message: \'refuse\' the publish (E_PUB_FAILED, HTTP 503 QUEUE_FULL) or \'drop-oldest\' (not in NSQ)'),

  b('statsd-address', 'string', 'statsdAddress', 'UDP <addr>:<port> of a statsd daemon for pushing stats'),
  b('statsd-interval', 'duration', 'statsdIntervalMs', 'duration between pushing to statsd'),
  b('statsd-mem-stats', 'bool', 'statsdMemStats', 'toggle sending memory and GC stats to statsd'),
  b('statsd-prefix', 'string', 'statsdPrefix', 'prefix used for keys sent to statsd (%s for host replacement)'),
  b('statsd-udp-packet-size', 'int', 'statsdUdpPacketSize', 'the size in bytes of statsd UDP packets'),
  b('statsd-exclude-ephemeral', 'bool', 'statsdExcludeEphemeral', 'Skip ephemeral topics and channels when sending stats to statsd'),

  b('e2e-processing-latency-percentile', 'floats', 'e2eProcessingLatencyPercentiles', 'message processing time percentiles (as float (0, 1.0]) to track (can be specified multiple times or comma separated \'1.0,0.99,0.95\', default none)', 'e2e_processing_latency_percentiles'),
  b('e2e-processing-latency-window-time', 'duration', 'e2eProcessingLatencyWindowTimeMs', 'calculate end to end latency quantiles for this duration of time (i.e. 60s would only show quantile calculations from the past 60 seconds)'),

  b('tls-cert', 'string', 'tlsCert', 'path to certificate file'),
  b('tls-key', 'string', 'tlsKey', 'path to key file'),
  b('tls-client-auth-policy', 'string', 'tlsClientAuthPolicy', 'client certificate auth policy (\'require\' or \'require-verify\')'),
  b('tls-root-ca-file', 'string', 'tlsRootCaFile', 'path to certificate authority file'),
  b('tls-required', 'string', null, 'require TLS for client connections (true, false, tcp-https)'),
  b('tls-min-version', 'string', 'tlsMinVersion', 'minimum SSL/TLS version acceptable (\'tls1.0\', \'tls1.1\', \'tls1.2\' or \'tls1.3\')'),

  b('deflate', 'bool', 'deflate', 'enable deflate feature negotiation (client compression)'),
  b('max-deflate-level', 'int', 'maxDeflateLevel', 'max deflate compression level a client can negotiate (> values == > nsqd CPU usage)'),
  b('snappy', 'bool', 'snappy', 'enable snappy feature negotiation (client compression)'),

  b('enable-experiment', 'strings', 'enableExperiments', 'enable experimental feature (may be given multiple times) (valid options: topology-aware-consumption)', 'enable_experiment'),

  b('replication-group', 'string', 'replicationGroup', 'replicate this node\'s data to standbys with automatic failover: the group\'s name in etcd (not in NSQ; off when empty; implies --mem-queue-size=0 --sync-every=1)'),
  b('replication-factor', 'int', 'replicationFactor', 'number of nodes in the replication group, primary included'),
  b('min-insync-replicas', 'int', 'minInsyncReplicas', 'a publish is acknowledged only once this many nodes (primary included) hold it; fewer in sync and publishes fail'),
  b('etcd-endpoints', 'strings', 'etcdEndpoints', 'etcd <addr>:<port> for replication coordination (may be given multiple times or comma separated)', 'etcd_endpoints'),
  b('replication-session-ttl', 'duration', 'replicationSessionTtlMs', 'etcd lease TTL (whole seconds, at least 1s): a primary silent this long is replaced'),
  b('replica-lag-timeout', 'duration', 'replicaLagTimeoutMs', 'a standby that has not acknowledged a batch within this is taken out of the in-sync set'),
  b('replication-address', 'string', 'replicationAddress', '<addr>:<port> to listen on for standbys (the primary serves its log here)'),
  b('replication-tail-size', 'int', 'replicationTailSize', 'bytes of recent batches kept in memory so a standby that reconnects catches up from where it stopped (else it copies everything)')
]

export const FLAG_SPECS: readonly FlagSpec[] = FLAG_BINDINGS.map((x) => x.spec)

/** Builds Options from parsed flag values (defaults already merged with config and argv). */
export function optionsFromFlags (values: FlagValues): Options {
  const opts = defaultOptions()
  const o = opts as unknown as Record<string, unknown>
  for (const { spec, key } of FLAG_BINDINGS) {
    if (key !== null) o[key] = values[spec.name]
  }
  const tlsRequired = String(values['tls-required'] ?? '')
  if (tlsRequired === 'tcp-https') opts.tlsRequired = TLS_REQUIRED_EXCEPT_HTTP
  else if (tlsRequired === 'true' || tlsRequired === '1') opts.tlsRequired = TLS_REQUIRED
  else if (tlsRequired === '' || tlsRequired === 'false' || tlsRequired === '0') opts.tlsRequired = TLS_NOT_REQUIRED
  else throw new Error(`invalid value "${tlsRequired}" for flag -tls-required`)
  return opts
}

/** Start-up validation; throws with flag-named messages (nsqd-internals.md §19). */
export function validateOptions (opts: Options): void {
  if (!Number.isInteger(opts.nodeId) || opts.nodeId < 0 || opts.nodeId >= 1024) throw new Error('--node-id must be [0,1024)')
  if (opts.maxDeflateLevel < 1 || opts.maxDeflateLevel > 9) throw new Error('--max-deflate-level must be [1,9]')
  const method = opts.authHttpRequestMethod.toLowerCase()
  if (method !== 'get' && method !== 'post') throw new Error('--auth-http-request-method must be post or get')
  if (opts.httpAuth !== '' && opts.httpAuth !== 'publish' && opts.httpAuth !== 'all') throw new Error('--http-auth must be publish or all')
  if (opts.httpAuth !== '' && opts.authHttpAddresses.length === 0) throw new Error('--http-auth needs --auth-http-address')
  for (const p of opts.e2eProcessingLatencyPercentiles) {
    if (!(p > 0 && p <= 1)) throw new Error(`invalid E2E processing latency percentile: ${p}`)
  }
  if (opts.tlsClientAuthPolicy !== '' && opts.tlsRequired === TLS_NOT_REQUIRED) opts.tlsRequired = TLS_REQUIRED
  if (opts.tlsRequired !== TLS_NOT_REQUIRED && (opts.tlsCert === '' || opts.tlsKey === '')) {
    throw new Error('cannot require TLS client connections without TLS key and cert')
  }
  if (opts.memQueueSize < 0) throw new Error('--mem-queue-size must be >= 0')
  if (!Number.isInteger(opts.maxAttempts) || opts.maxAttempts < 0 || opts.maxAttempts > 65535) throw new Error('--max-attempts must be between 0 and 65535')
  if (opts.messageTtlMs < 0) throw new Error('--message-ttl must be >= 0')
  if (!Number.isSafeInteger(opts.maxQueueMessages) || opts.maxQueueMessages < 0) throw new Error('--max-queue-messages must be >= 0')
  if (!Number.isSafeInteger(opts.maxQueueBytes) || opts.maxQueueBytes < 0) throw new Error('--max-queue-bytes must be >= 0')
  if (opts.queueFullPolicy !== 'refuse' && opts.queueFullPolicy !== 'drop-oldest') throw new Error('--queue-full-policy must be refuse or drop-oldest')
  if (opts.maxDeferTimeoutMs < 0) throw new Error('--max-defer-timeout must be >= 0')
  if (opts.storeBacklogSize <= 0) throw new Error('--store-backlog-size must be > 0')
  if (opts.storeWriteBufferSize < 64 * 1024) throw new Error('--store-write-buffer-size must be >= 65536')
  if (opts.gatewayUserPush && (!opts.httpGateway || opts.authHttpAddresses.length === 0)) throw new Error('--gateway-user-push needs --http-gateway and --auth-http-address')
  if (opts.gatewayMaxConnections < 0) throw new Error('--gateway-max-connections must be >= 0')
  if (opts.maxRdyCount < 0) throw new Error('--max-rdy-count must be >= 0')
  if (opts.maxMsgSize <= 0) throw new Error('--max-msg-size must be > 0')
  if (opts.maxBodySize <= 0) throw new Error('--max-body-size must be > 0')
  if (opts.replicationGroup !== '') {
    if (!/^[A-Za-z0-9._-]+$/.test(opts.replicationGroup)) throw new Error('--replication-group must be [A-Za-z0-9._-]+')
    if (opts.replicationFactor < 1) throw new Error('--replication-factor must be >= 1')
    if (opts.minInsyncReplicas < 1 || opts.minInsyncReplicas > opts.replicationFactor) throw new Error('--min-insync-replicas must be [1,--replication-factor]')
    if (opts.replicationSessionTtlMs < 1000) throw new Error('--replication-session-ttl must be at least 1s')
    if (opts.replicaLagTimeoutMs <= 0) throw new Error('--replica-lag-timeout must be > 0')
    if (!(opts.replicationTailSize >= 0)) throw new Error('--replication-tail-size must be >= 0')
    if (opts.etcdEndpoints.length === 0) throw new Error('--etcd-endpoints is required with --replication-group')
  }
}

/** The cap on a publish deferral: --max-defer-timeout when set, else --max-req-timeout (NSQ). */
export function deferCapMs (opts: Options): number {
  return opts.maxDeferTimeoutMs > 0 ? opts.maxDeferTimeoutMs : opts.maxReqTimeoutMs
}
