// nsqlookupd's options (spec: lookupd.md §8): one Options type, NSQ's defaults and flag names.
// Only main.ts reads argv; the library takes an Options object.

import { splitListenAddress as splitHostPort } from '../client/wire/address.js'
import os from 'node:os'
import type { FlagSpec, FlagValues } from '../client/wire/flags.js'
import type { Logger } from './logger.js'
import { parseLogLevel } from './logger.js'

export const VERSION = '1.3.0'

/** IDENTIFY bodies above this are refused with E_BAD_BODY (NSQ has no bound; see README). */
export const DEFAULT_MAX_IDENTIFY_BODY_SIZE = 1024 * 1024

export interface Options {
  logLevel: string
  logPrefix: string
  /** Injected logger; null = build one from logLevel/logPrefix writing to stderr. */
  logger: Logger | null
  tcpAddress: string
  httpAddress: string
  broadcastAddress: string
  inactiveProducerTimeoutMs: number
  tombstoneLifetimeMs: number
  /** Not a flag: bound on IDENTIFY body sizes. */
  maxIdentifyBodySize: number
}

export function defaultOptions (): Options {
  return {
    logLevel: 'info',
    logPrefix: '[nsqlookupd] ',
    logger: null,
    tcpAddress: '0.0.0.0:4160',
    httpAddress: '0.0.0.0:4161',
    broadcastAddress: os.hostname(),
    inactiveProducerTimeoutMs: 300_000,
    tombstoneLifetimeMs: 45_000,
    maxIdentifyBodySize: DEFAULT_MAX_IDENTIFY_BODY_SIZE
  }
}

export const FLAG_SPECS: readonly FlagSpec[] = [
  { name: 'version', kind: 'bool', default: false, usage: 'print version string' },
  { name: 'config', kind: 'string', default: '', usage: 'path to config file' },
  { name: 'log-level', kind: 'string', default: 'info', usage: 'set log verbosity: debug, info, warn, error, or fatal' },
  { name: 'log-prefix', kind: 'string', default: '[nsqlookupd] ', usage: 'log message prefix' },
  { name: 'verbose', kind: 'bool', default: false, usage: '[deprecated] has no effect, use --log-level' },
  { name: 'tcp-address', kind: 'string', default: '0.0.0.0:4160', usage: '<addr>:<port> to listen on for TCP clients' },
  { name: 'http-address', kind: 'string', default: '0.0.0.0:4161', usage: '<addr>:<port> to listen on for HTTP clients' },
  { name: 'broadcast-address', kind: 'string', default: os.hostname(), usage: 'address of this lookupd node, (default to the OS hostname)' },
  { name: 'inactive-producer-timeout', kind: 'duration', default: 300_000, usage: 'duration of time a producer will remain in the active list since its last ping' },
  { name: 'tombstone-lifetime', kind: 'duration', default: 45_000, usage: 'duration of time a producer will remain tombstoned if registration remains' }
]

/** Builds Options from parsed flag values (flags > config file > defaults already merged). */
export function optionsFromFlags (values: FlagValues): Options {
  const o = defaultOptions()
  o.logLevel = String(values['log-level'])
  o.logPrefix = String(values['log-prefix'])
  o.tcpAddress = String(values['tcp-address'])
  o.httpAddress = String(values['http-address'])
  o.broadcastAddress = String(values['broadcast-address'])
  o.inactiveProducerTimeoutMs = Number(values['inactive-producer-timeout'])
  o.tombstoneLifetimeMs = Number(values['tombstone-lifetime'])
  return o
}

/** Start-up validation; messages name the flag. */
export function validateOptions (o: Options): void {
  parseLogLevel(o.logLevel)
  if (!(o.inactiveProducerTimeoutMs >= 0)) throw new Error('--inactive-producer-timeout must be >= 0')
  if (!(o.tombstoneLifetimeMs >= 0)) throw new Error('--tombstone-lifetime must be >= 0')
  if (!(o.maxIdentifyBodySize > 0)) throw new Error('maxIdentifyBodySize must be > 0')
  splitHostPort(o.tcpAddress, '--tcp-address')
  splitHostPort(o.httpAddress, '--http-address')
}

export { splitListenAddress as splitHostPort } from '../client/wire/address.js'
