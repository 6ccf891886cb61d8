#!/usr/bin/env node
// nsq_to_file: consumes topics (fixed, or discovered through lookupd /topics and filtered by a
// pattern) and appends message bodies to local files, FINing messages only after an fsync.

import os from 'node:os'
import fs from 'node:fs'
import { Consumer } from '../consumer.js'
import { consoleLogger } from '../logger.js'
import type { LogLevel } from '../logger.js'
import { lookupAllTopics } from '../lookup.js'
import type { FlagSpec } from '../wire/flags.js'
import { isValidChannelName, isValidTopicName } from '../wire/names.js'
import { FileLogger, revRequired } from './file-logger.js'
import { ToolError, checkSources, consumerOpts, onSignals, parseToolFlags, run, userAgent } from './common.js'

const TOOL = 'nsq_to_file'

const SPECS: FlagSpec[] = [
  { name: 'topic', kind: 'strings', default: [], usage: 'nsq topic (may be given multiple times)' },
  { name: 'topic-pattern', kind: 'string', default: '', usage: 'only log topics matching the following pattern' },
  { name: 'topic-refresh', kind: 'duration', default: 60_000, usage: 'how frequently the topic list should be refreshed' },
  { name: 'channel', kind: 'string', default: 'nsq_to_file', usage: 'nsq channel' },
  { name: 'nsqd-tcp-address', kind: 'strings', default: [], usage: 'nsqd TCP address (may be given multiple times)' },
  { name: 'lookupd-http-address', kind: 'strings', default: [], usage: 'lookupd HTTP address (may be given multiple times)' },
  { name: 'max-in-flight', kind: 'int', default: 200, usage: 'max number of messages to allow in flight' },
  { name: 'output-dir', kind: 'string', default: '/tmp', usage: 'directory to write output files to' },
  { name: 'work-dir', kind: 'string', default: '', usage: 'directory for in-progress files before moving to output-dir' },
  { name: 'filename-format', kind: 'string', default: '<TOPIC>.<HOST><REV>.<DATETIME>.log', usage: 'output filename format (<TOPIC>, <HOST>, <PID>, <DATETIME>, <REV> are replaced. <REV> is increased when file already exists)' },
  { name: 'datetime-format', kind: 'string', default: '%Y-%m-%d_%H', usage: 'strftime compatible format for <DATETIME> in filename format' },
  { name: 'host-identifier', kind: 'string', default: '', usage: 'value to output in log filename in place of hostname. <SHORT_HOST> and <HOSTNAME> are valid replacement tokens' },
  { name: 'gzip', kind: 'bool', default: false, usage: 'gzip output files.' },
  { name: 'gzip-level', kind: 'int', default: 6, usage: 'gzip compression level (1-9, 1=BestSpeed, 9=BestCompression)' },
  { name: 'rotate-size', kind: 'int', default: 0, usage: 'rotate the file when it grows bigger than `rotate-size` bytes' },
  { name: 'rotate-interval', kind: 'duration', default: 0, usage: 'rotate the file every duration' },
  { name: 'skip-empty-files', kind: 'bool', default: false, usage: 'skip writing empty files' },
  { name: 'sync-interval', kind: 'duration', default: 30_000, usage: 'sync file to disk every interval' },
  { name: 'log-level', kind: 'string', default: 'info', usage: 'set log verbosity: debug, info, warn, error, or fatal' },
  { name: 'log-prefix', kind: 'string', default: '[nsq_to_file] ', usage: 'log message prefix' },
  { name: 'http-client-connect-timeout', kind: 'duration', default: 2000, usage: 'timeout for HTTP connect' },
  { name: 'http-client-request-timeout', kind: 'duration', default: 5000, usage: 'timeout for HTTP request' },
  { name: 'consumer-opt', kind: 'strings', default: [], usage: 'option to passthrough to nsq.Consumer (may be given multiple times)' }
]

const LEVELS = ['debug', 'info', 'warn', 'error', 'fatal']

run(TOOL, async () => {
  const f = parseToolFlags(TOOL, SPECS, process.argv.slice(2))
  const topics = f.topic as string[]
  const pattern = f['topic-pattern'] as string
  const channel = f.channel as string
  const nsqd = f['nsqd-tcp-address'] as string[]
  const lookupd = f['lookupd-http-address'] as string[]
  const outputDir = f['output-dir'] as string
  const workDir = (f['work-dir'] as string) === '' ? outputDir : f['work-dir'] as string
  const gzipLevel = f['gzip-level'] as number
  const logLevel = (f['log-level'] as string).toLowerCase()
  const prefix = f['log-prefix'] as string
  const maxInFlight = f['max-in-flight'] as number
  const syncIntervalMs = f['sync-interval'] as number
  const format = f['filename-format'] as string

  if (!LEVELS.includes(logLevel)) throw new ToolError(`invalid --log-level ${JSON.stringify(logLevel)}`)
  if (!isValidChannelName(channel)) throw new ToolError(`--channel ${JSON.stringify(channel)} is not a valid channel name`)
  checkSources(nsqd, lookupd)
  if (topics.length === 0 && lookupd.length === 0) throw new ToolError('--topic is required unless --lookupd-http-address is given (to discover topics)')
  for (const t of topics) if (!isValidTopicName(t)) throw new ToolError(`--topic ${JSON.stringify(t)} is not a valid topic name`)
  if (gzipLevel < 1 || gzipLevel > 9) throw new ToolError('invalid --gzip-level value (1-9)')
  if (maxInFlight < 1) throw new ToolError('--max-in-flight must be > 0')
  if (syncIntervalMs <= 0) throw new ToolError('--sync-interval must be > 0')
  let re: RegExp | null = null
  if (pattern !== '') {
    try {
      re = new RegExp(pattern)
    } catch (err) {
      throw new ToolError(`invalid --topic-pattern: ${(err as Error).message}`)
    }
  }
  const dirs = { gzip: f.gzip as boolean, rotateSize: f['rotate-size'] as number, rotateIntervalMs: f['rotate-interval'] as number, workDir, outputDir }
  if (revRequired(dirs) && !format.includes('<REV>')) {
    throw new ToolError('--filename-format must contain <REV> when using --gzip, --rotate-size, --rotate-interval or --work-dir')
  }
  for (const d of new Set([outputDir, workDir])) {
    try {
      fs.mkdirSync(d, { recursive: true })
      fs.accessSync(d, fs.constants.W_OK)
    } catch (err) {
      throw new ToolError(`cannot use directory ${d}: ${(err as Error).message}`)
    }
  }
  const host = os.hostname()
  const shortHost = host.split('.')[0] ?? host
  const hostIdentifier = (f['host-identifier'] as string) === ''
    ? shortHost
    : (f['host-identifier'] as string).replaceAll('<SHORT_HOST>', shortHost).replaceAll('<HOSTNAME>', host)
  const extra = consumerOpts(f['consumer-opt'] as string[])
  const rank = LEVELS.indexOf(logLevel)
  const log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string): void => {
    if (LEVELS.indexOf(level) >= rank) process.stderr.write(`${prefix}${level.toUpperCase()}: ${msg}\n`)
  }
  const libLevel: LogLevel = logLevel === 'fatal' ? 'error' : logLevel as LogLevel

  const writers = new Map<string, FileLogger>()
  let stopping = false

  const startTopic = async (topic: string): Promise<void> => {
    if (writers.has(topic) || stopping) return
    const w = new FileLogger({
      topic,
      outputDir,
      workDir,
      filenameFormat: format,
      datetimeFormat: f['datetime-format'] as string,
      hostIdentifier,
      gzip: dirs.gzip,
      gzipLevel,
      rotateSize: dirs.rotateSize,
      rotateIntervalMs: dirs.rotateIntervalMs,
      skipEmptyFiles: f['skip-empty-files'] as boolean,
      maxPending: maxInFlight,
      log
    })
    writers.set(topic, w)
    const c = new Consumer({
      userAgent: userAgent(TOOL),
      logger: consoleLogger(libLevel, prefix),
      maxInFlight,
      ...extra,
      topic,
      channel,
      nsqdTcpAddresses: nsqd,
      lookupdHttpAddresses: lookupd,
      autoFinish: false,
      lookupdTimeoutMs: (f['http-client-connect-timeout'] as number) + (f['http-client-request-timeout'] as number)
    })
    w.consumer = c
    c.handle((m) => { w.onMessage(m) })
    w.start()
    log('info', `[${topic}] consuming on channel ${channel}`)
    await c.connect()
  }

  const discover = async (): Promise<void> => {
    const res = await lookupAllTopics(lookupd, { timeoutMs: (f['http-client-connect-timeout'] as number) + (f['http-client-request-timeout'] as number) })
    for (const e of res.errors) log('error', e.message)
    for (const t of res.topics) {
      if (re !== null && !re.test(t)) continue
      if (!isValidTopicName(t)) continue
      await startTopic(t)
    }
  }

  let refreshTimer: NodeJS.Timeout | null = null
  const syncTimer = setInterval(() => {
    for (const w of writers.values()) {
      try {
        w.tick()
      } catch (err) {
        log('error', `[${w.o.topic}] ${(err as Error).message}`)
      }
    }
  }, syncIntervalMs)

  const stop = (): void => {
    if (stopping) return
    stopping = true
    clearInterval(syncTimer)
    if (refreshTimer !== null) clearInterval(refreshTimer)
    const all = [...writers.values()].map(async (w) => {
      const closing = w.consumer?.close() ?? Promise.resolve()
      w.sync()
      await closing
      w.sync()
      w.closeFile()
      log('info', `[${w.o.topic}] wrote ${w.written} messages`)
    })
    Promise.all(all).then(() => { process.exit(0) }, (err: Error) => {
      log('error', err.message)
      process.exit(1)
    })
  }
  onSignals(stop)
  process.on('SIGHUP', () => { for (const w of writers.values()) w.reopen() })

  if (topics.length > 0) {
    for (const t of topics) {
      if (re !== null && !re.test(t)) {
        log('info', `[${t}] skipped: does not match --topic-pattern`)
        continue
      }
      await startTopic(t)
    }
  } else {
    await discover()
    refreshTimer = setInterval(() => { void discover().catch((err: Error) => { log('error', err.message) }) }, f['topic-refresh'] as number)
  }
})
