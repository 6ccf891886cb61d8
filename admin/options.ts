// nsqadmin's options (spec: nsqadmin.md §10): one Options type, NSQ's defaults and flag names,
// plus two of our own for the built-in history (--history-interval, --history-window).
// Only main.ts reads argv; the library takes an Options object.

import { splitListenAddress as splitHostPort } from '../client/wire/address.js'
import type { FlagSpec, FlagValues } from '../client/wire/flags.js'
import type { Logger } from './logger.js'
import { parseLogLevel } from './logger.js'

export const VERSION = '1.3.0'

export interface Options {
  logLevel: string
  logPrefix: string
  /** Injected logger; null = build one from logLevel/logPrefix writing to stderr. */
  logger: Logger | null
  httpAddress: string
  basePath: string
  devStaticDir: string
  graphiteUrl: string
  proxyGraphite: boolean
  statsdPrefix: string
  statsdCounterFormat: string
  statsdGaugeFormat: string
  statsdIntervalMs: number
  lookupdHttpAddresses: string[]
  nsqdHttpAddresses: string[]
  httpClientConnectTimeoutMs: number
  httpClientRequestTimeoutMs: number
  allowConfigFromCidr: string
  notificationHttpEndpoint: string
  aclHttpHeader: string
  adminUsers: string[]
  /** Beyond NSQ: how often the built-in history samples the cluster (0 disables it). */
  historyIntervalMs: number
  /** Beyond NSQ: how much history is kept in memory. */
  historyWindowMs: number
  /** Beyond NSQ: users file enabling the login page and roles ('' = off, NSQ's behaviour). */
  usersFile: string
  /** Beyond NSQ: HMAC key for session cookies ('' = random at start). */
  sessionSecret: string
  /** Beyond NSQ: how long a login lasts. */
  sessionTtlMs: number
}

export function defaultOptions (): Options {
  return {
    logLevel: 'info',
    logPrefix: '[nsqadmin] ',
    logger: null,
    httpAddress: '0.0.0.0:4171',
    basePath: '/',
    devStaticDir: '',
    graphiteUrl: '',
    proxyGraphite: false,
    statsdPrefix: 'nsq.%s',
    statsdCounterFormat: 'stats.counters.%s.count',
    statsdGaugeFormat: 'stats.gauges.%s',
    statsdIntervalMs: 60_000,
    lookupdHttpAddresses: [],
    nsqdHttpAddresses: [],
    httpClientConnectTimeoutMs: 2000,
    httpClientRequestTimeoutMs: 5000,
    allowConfigFromCidr: '127.0.0.1/8',
    notificationHttpEndpoint: '',
    aclHttpHeader: 'X-Forwarded-User',
    adminUsers: [],
    historyIntervalMs: 5000,
    historyWindowMs: 3_600_000,
    usersFile: '',
    sessionSecret: '',
    sessionTtlMs: 12 * 3_600_000
  }
}

export const FLAG_SPECS: readonly FlagSpec[] = [
  { name: 'version', kind: 'bool', default: false, usage: 'print version string' },
  { name: 'config', kind: 'string', default: '', usage: 'path to config file' },
  { name: 'log-level', kind: 'string', default: 'info', usage: 'set log verbosity: debug, info, warn, error, or fatal' },
  { name: 'log-prefix', kind: 'string', default: '[nsqadmin] ', usage: 'log message prefix' },
  { name: 'verbose', kind: 'bool', default: false, usage: '[deprecated] has no effect, use --log-level' },
  { name: 'http-address', kind: 'string', default: '0.0.0.0:4171', usage: '<addr>:<port> to listen on for HTTP clients' },
  { name: 'base-path', kind: 'string', default: '/', usage: 'URL base path' },
  { name: 'dev-static-dir', kind: 'string', default: '', usage: '(development use only) serve the UI from this directory' },
  { name: 'graphite-url', kind: 'string', default: '', usage: 'graphite HTTP address' },
  { name: 'proxy-graphite', kind: 'bool', default: false, usage: 'proxy HTTP requests to graphite' },
  { name: 'statsd-prefix', kind: 'string', default: 'nsq.%s', usage: 'prefix used for keys sent to statsd (%s for host replacement, must match nsqd)' },
  { name: 'statsd-counter-format', kind: 'string', default: 'stats.counters.%s.count', usage: 'The counter stats key formatting applied by the implementation of statsd. If no formatting is desired, set this to an empty string.' },
  { name: 'statsd-gauge-format', kind: 'string', default: 'stats.gauges.%s', usage: 'The gauge stats key formatting applied by the implementation of statsd. If no formatting is desired, set this to an empty string.' },
  { name: 'statsd-interval', kind: 'duration', default: 60_000, usage: 'time interval nsqd is configured to push to statsd (must match nsqd)' },
  { name: 'lookupd-http-address', kind: 'strings', default: [], usage: 'lookupd HTTP address (may be given multiple times)', configKey: 'nsqlookupd_http_addresses' },
  { name: 'nsqd-http-address', kind: 'strings', default: [], usage: 'nsqd HTTP address (may be given multiple times)', configKey: 'nsqd_http_addresses' },
  { name: 'http-client-connect-timeout', kind: 'duration', default: 2000, usage: 'timeout for HTTP connect' },
  { name: 'http-client-request-timeout', kind: 'duration', default: 5000, usage: 'timeout for HTTP request' },
  { name: 'allow-config-from-cidr', kind: 'string', default: '127.0.0.1/8', usage: 'A CIDR from which to allow HTTP requests to the /config endpoint' },
  { name: 'notification-http-endpoint', kind: 'string', default: '', usage: 'HTTP endpoint (fully qualified) to which POST notifications of admin actions will be sent' },
  { name: 'acl-http-header', kind: 'string', default: 'X-Forwarded-User', usage: 'HTTP header to check for authenticated admin users' },
  { name: 'admin-user', kind: 'strings', default: [], usage: 'admin user (may be given multiple times; if specified, only these users will be able to perform privileged actions; acl-http-header is used to determine the authenticated user)', configKey: 'admin_users' },
  { name: 'history-interval', kind: 'duration', default: 5000, usage: 'how often the built-in history samples the cluster for charts (0 disables it)' },
  { name: 'history-window', kind: 'duration', default: 3_600_000, usage: 'how much built-in history to keep in memory' },
  { name: 'users-file', kind: 'string', default: '', usage: 'file of <name>:<admin|viewer>:<hash> lines; turns on the login page and roles (hashes from nsqadmin --hash-password)' },
  { name: 'session-secret', kind: 'string', default: '', usage: 'key that signs session cookies (default: random at start, so logins end with the process)' },
  { name: 'session-ttl', kind: 'duration', default: 12 * 3_600_000, usage: 'how long a login lasts' }
]

/** Builds Options from parsed flag values (flags > config file > defaults already merged). */
export function optionsFromFlags (values: FlagValues): Options {
  const o = defaultOptions()
  o.logLevel = String(values['log-level'])
  o.logPrefix = String(values['log-prefix'])
  o.httpAddress = String(values['http-address'])
  o.basePath = String(values['base-path'])
  o.devStaticDir = String(values['dev-static-dir'])
  o.graphiteUrl = String(values['graphite-url'])
  o.proxyGraphite = values['proxy-graphite'] === true
  o.statsdPrefix = String(values['statsd-prefix'])
  o.statsdCounterFormat = String(values['statsd-counter-format'])
  o.statsdGaugeFormat = String(values['statsd-gauge-format'])
  o.statsdIntervalMs = Number(values['statsd-interval'])
  o.lookupdHttpAddresses = [...(values['lookupd-http-address'] as string[])]
  o.nsqdHttpAddresses = [...(values['nsqd-http-address'] as string[])]
  o.httpClientConnectTimeoutMs = Number(values['http-client-connect-timeout'])
  o.httpClientRequestTimeoutMs = Number(values['http-client-request-timeout'])
  o.allowConfigFromCidr = String(values['allow-config-from-cidr'])
  o.notificationHttpEndpoint = String(values['notification-http-endpoint'])
  o.aclHttpHeader = String(values['acl-http-header'])
  o.adminUsers = [...(values['admin-user'] as string[])]
  o.historyIntervalMs = Number(values['history-interval'])
  o.historyWindowMs = Number(values['history-window'])
  o.usersFile = String(values['users-file'])
  o.sessionSecret = String(values['session-secret'])
  o.sessionTtlMs = Number(values['session-ttl'])
  return o
}

/** Start-up validation; messages name the flag. */
export function validateOptions (o: Options): void {
  parseLogLevel(o.logLevel)
  splitHostPort(o.httpAddress, '--http-address')
  if (o.lookupdHttpAddresses.length > 0 && o.nsqdHttpAddresses.length > 0) {
    throw new Error('use --nsqd-http-address or --lookupd-http-address not both')
  }
  if (o.lookupdHttpAddresses.length === 0 && o.nsqdHttpAddresses.length === 0) {
    throw new Error('--nsqd-http-address or --lookupd-http-address required')
  }
  for (const a of o.lookupdHttpAddresses) checkUpstreamAddress(a, '--lookupd-http-address')
  for (const a of o.nsqdHttpAddresses) checkUpstreamAddress(a, '--nsqd-http-address')
  if (o.notificationHttpEndpoint !== '') {
    let u: URL | null = null
    try { u = new URL(o.notificationHttpEndpoint) } catch { /* reported below */ }
    if (u === null || (u.protocol !== 'http:' && u.protocol !== 'https:')) {
      throw new Error(`--notification-http-endpoint must be an http(s) URL (got "${o.notificationHttpEndpoint}")`)
    }
  }
  if (o.graphiteUrl !== '') {
    try { new URL(o.graphiteUrl) } catch { throw new Error(`--graphite-url must be a URL (got "${o.graphiteUrl}")`) }
  }
  if (!(o.httpClientConnectTimeoutMs > 0)) throw new Error('--http-client-connect-timeout must be > 0')
  if (!(o.httpClientRequestTimeoutMs > 0)) throw new Error('--http-client-request-timeout must be > 0')
  if (!(o.statsdIntervalMs > 0)) throw new Error('--statsd-interval must be > 0')
  if (!(o.historyIntervalMs >= 0)) throw new Error('--history-interval must be >= 0')
  if (o.historyIntervalMs > 0 && !(o.historyWindowMs >= o.historyIntervalMs)) {
    throw new Error('--history-window must be at least --history-interval')
  }
  if (o.aclHttpHeader.trim() === '') throw new Error('--acl-http-header must not be empty')
  if (!(o.sessionTtlMs > 0)) throw new Error('--session-ttl must be > 0')
  if (o.sessionSecret !== '' && Buffer.byteLength(o.sessionSecret) < 16) throw new Error('--session-secret must be at least 16 bytes')
}

/** Normalises --base-path: leading "/", no trailing "/" except for the root ("/" → ""). */
export function normaliseBasePath (p: string): string {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.')
  const out: string[] = []
  for (const s of parts) {
    if (s === '..') out.pop()
    else out.push(s)
  }
  return out.length === 0 ? '' : '/' + out.join('/')
}

function checkUpstreamAddress (addr: string, flag: string): void {
  if (/^[a-z]+:\/\//i.test(addr)) throw new Error(`${flag} must be <addr>:<port> without a scheme (got "${addr}")`)
  splitHostPort(addr, flag)
}

export { splitListenAddress as splitHostPort, joinHostPort } from '../client/wire/address.js'
