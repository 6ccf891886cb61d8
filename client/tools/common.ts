// Shared plumbing for the command-line tools: Go-style flags with NSQ's wording for mistakes,
// go-nsq style --consumer-opt / --producer-opt, source validation, fatal exits, signals.

import { parseFlags, formatHelp, FlagError } from '../wire/flags.js'
import type { FlagSpec, FlagValues } from '../wire/flags.js'
import { parseDuration } from '../wire/duration.js'
import type { ConsumerOptions } from '../consumer.js'
import type { ProducerOptions } from '../producer.js'
import { CLIENT_VERSION } from '../connection.js'

export const NSQ_VERSION = '1.3.0'

export function userAgent (tool: string): string {
  return `${tool}/${NSQ_VERSION} nsq-ts/${CLIENT_VERSION}`
}

export class ToolError extends Error {
  override name = 'ToolError'
}

/** Writes `[tool] message` to stderr and exits 1 (Go's log.Fatal). */
export function fatal (tool: string, message: string): never {
  process.stderr.write(`[${tool}] FATAL: ${message}\n`)
  process.exit(1)
}

export function logLine (tool: string, message: string): void {
  process.stderr.write(`[${tool}] ${message}\n`)
}

/**
 * Parses argv. `-h`/`--help` prints usage and exits 0; a bad flag prints Go's message plus the
 * usage and exits 2; `--version` prints `<tool> v1.3.0` and exits 0.
 */
export function parseToolFlags (tool: string, specs: FlagSpec[], argv: string[]): FlagValues {
  const all: FlagSpec[] = [...specs, { name: 'version', kind: 'bool', default: false, usage: 'print version string' }]
  let parsed
  try {
    parsed = parseFlags(all, argv)
  } catch (err) {
    if (err instanceof FlagError) {
      process.stderr.write(`${err.message}\n${formatHelp(tool, all)}`)
      process.exit(2)
    }
    throw err
  }
  if (parsed.help) {
    process.stderr.write(formatHelp(tool, all))
    process.exit(0)
  }
  if (parsed.values.version === true) {
    process.stdout.write(`${tool} v${NSQ_VERSION}\n`)
    process.exit(0)
  }
  if (parsed.rest.length > 0) {
    process.stderr.write(`unexpected argument: ${parsed.rest[0]}\n${formatHelp(tool, all)}`)
    process.exit(2)
  }
  return parsed.values
}

/** The --nsqd-tcp-address / --lookupd-http-address rule of every consumer tool. */
export function checkSources (nsqd: string[], lookupd: string[], nsqdFlag = 'nsqd-tcp-address'): void {
  if (nsqd.length > 0 && lookupd.length > 0) throw new ToolError(`use --${nsqdFlag} or --lookupd-http-address not both`)
  if (nsqd.length === 0 && lookupd.length === 0) throw new ToolError(`--${nsqdFlag} or --lookupd-http-address required`)
}

function optBool (key: string, v: string): boolean {
  if (v === 'true' || v === '1' || v === 't') return true
  if (v === 'false' || v === '0' || v === 'f') return false
  throw new ToolError(`invalid value ${JSON.stringify(v)} for option ${key}`)
}

function optInt (key: string, v: string): number {
  if (!/^-?\d+$/.test(v)) throw new ToolError(`invalid value ${JSON.stringify(v)} for option ${key}`)
  return Number(v)
}

/** Go durations ("5s") or integers in ms. */
function optDuration (key: string, v: string): number {
  if (/^-?\d+$/.test(v)) return Number(v)
  try {
    return parseDuration(v)
  } catch {
    throw new ToolError(`invalid value ${JSON.stringify(v)} for option ${key}`)
  }
}

type Setter = (o: Partial<ConsumerOptions & ProducerOptions>, key: string, v: string) => void

const COMMON_OPTS: Record<string, Setter> = {
  client_id: (o, _k, v) => { o.clientId = v },
  hostname: (o, _k, v) => { o.hostname = v },
  user_agent: (o, _k, v) => { o.userAgent = v },
  heartbeat_interval: (o, k, v) => { o.heartbeatIntervalMs = optDuration(k, v) },
  msg_timeout: (o, k, v) => { o.msgTimeoutMs = optDuration(k, v) },
  sample_rate: (o, k, v) => { o.sampleRate = optInt(k, v) },
  output_buffer_size: (o, k, v) => { o.outputBufferSize = optInt(k, v) },
  output_buffer_timeout: (o, k, v) => { o.outputBufferTimeoutMs = optDuration(k, v) },
  auth_secret: (o, _k, v) => { o.authSecret = v },
  dial_timeout: (o, k, v) => { o.connectTimeoutMs = optDuration(k, v) },
  tls_v1: (o, k, v) => { o.tlsV1 = optBool(k, v) },
  snappy: (o, k, v) => { o.snappy = optBool(k, v) },
  deflate: (o, k, v) => { o.deflate = optBool(k, v) },
  deflate_level: (o, k, v) => { o.deflateLevel = optInt(k, v) },
  // accepted for compatibility, no effect here
  read_timeout: () => {},
  write_timeout: () => {},
  local_addr: () => {}
}

const CONSUMER_OPTS: Record<string, Setter> = {
  ...COMMON_OPTS,
  max_in_flight: (o, k, v) => { o.maxInFlight = optInt(k, v) },
  max_attempts: (o, k, v) => { o.maxAttempts = optInt(k, v) },
  lookupd_poll_interval: (o, k, v) => { o.lookupdPollIntervalMs = optDuration(k, v) },
  lookupd_poll_jitter: (o, k, v) => { o.lookupdPollJitter = Number(v); if (!Number.isFinite(o.lookupdPollJitter)) throw new ToolError(`invalid value ${JSON.stringify(v)} for option ${k}`) },
  default_requeue_delay: (o, k, v) => { o.requeueDelayMs = optDuration(k, v) },
  max_requeue_delay: (o, k, v) => { o.maxRequeueDelayMs = optDuration(k, v) },
  backoff_multiplier: (o, k, v) => { o.backoffMultiplierMs = optDuration(k, v) },
  max_backoff_duration: (o, k, v) => { o.maxBackoffMs = optDuration(k, v) },
  backoff_strategy: (o, k, v) => {
    if (v === 'exponential') o.backoffStrategy = 'exponential'
    else if (v === 'full_jitter') o.backoffStrategy = 'full-jitter'
    else throw new ToolError(`invalid value ${JSON.stringify(v)} for option ${k}`)
  },
  rdy_redistribute_interval: (o, k, v) => { o.rdyRedistributeIntervalMs = optDuration(k, v) },
  low_rdy_idle_timeout: (o, k, v) => { o.lowRdyIdleTimeoutMs = optDuration(k, v) },
  low_rdy_timeout: (o, k, v) => { o.lowRdyTimeoutMs = optDuration(k, v) }
}

function applyOpts (list: string[], table: Record<string, Setter>): Partial<ConsumerOptions & ProducerOptions> {
  const out: Partial<ConsumerOptions & ProducerOptions> = {}
  for (const item of list) {
    const comma = item.indexOf(',')
    const key = comma < 0 ? item : item.slice(0, comma)
    const value = comma < 0 ? 'true' : item.slice(comma + 1)
    const set = table[key]
    if (set === undefined) throw new ToolError(`invalid option ${key}`)
    set(out, key, value)
  }
  return out
}

/** --consumer-opt=key,value (repeatable; a bare key means true). */
export function consumerOpts (list: string[]): Partial<ConsumerOptions> {
  return applyOpts(list, CONSUMER_OPTS) as Partial<ConsumerOptions>
}

export function producerOpts (list: string[]): Partial<ProducerOptions> {
  return applyOpts(list, COMMON_OPTS) as Partial<ProducerOptions>
}

/** SIGINT/SIGTERM run `stop` once; a second signal exits at once. */
export function onSignals (stop: () => void): void {
  let stopping = false
  const handler = (): void => {
    if (stopping) process.exit(1)
    stopping = true
    stop()
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
}

/** Exits after stdout has been written out. */
export function exitAfterFlush (code: number): void {
  process.stdout.write('', () => { process.exit(code) })
}

/** Runs a tool's main, turning ToolError into a fatal exit. */
export function run (tool: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    fatal(tool, err instanceof Error ? err.message : String(err))
  })
}
