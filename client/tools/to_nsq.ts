#!/usr/bin/env node
// to_nsq: reads stdin, splits it on a one-byte delimiter and publishes every non-empty record to
// the topic on every listed nsqd. Publishes are pipelined (in order per nsqd, bounded window); any
// publish error is fatal.

import { Producer } from '../producer.js'
import { consoleLogger } from '../logger.js'
import type { FlagSpec } from '../wire/flags.js'
import { isValidTopicName } from '../wire/names.js'
import { ToolError, fatal, logLine, onSignals, parseToolFlags, producerOpts, run, userAgent } from './common.js'

const TOOL = 'to_nsq'
const WINDOW = 2000

const SPECS: FlagSpec[] = [
  { name: 'topic', kind: 'string', default: '', usage: 'NSQ topic to publish to' },
  { name: 'nsqd-tcp-address', kind: 'strings', default: [], usage: 'destination nsqd TCP address (may be given multiple times)' },
  { name: 'delimiter', kind: 'string', default: '\n', usage: 'character to split input from stdin' },
  { name: 'rate', kind: 'int', default: 0, usage: 'Throttle messages to n/second. 0 to disable' },
  { name: 'producer-opt', kind: 'strings', default: [], usage: 'option to passthrough to nsq.Producer (may be given multiple times)' },
  { name: 'status-every', kind: 'int', default: 0, usage: 'log the number of messages published every N messages (0 disables)' }
]

run(TOOL, async () => {
  const f = parseToolFlags(TOOL, SPECS, process.argv.slice(2))
  const topic = f.topic as string
  const addrs = f['nsqd-tcp-address'] as string[]
  const delimiter = f.delimiter as string
  const rate = f.rate as number
  const statusEvery = f['status-every'] as number
  if (topic === '') throw new ToolError('--topic required')
  if (!isValidTopicName(topic)) throw new ToolError(`--topic ${JSON.stringify(topic)} is not a valid topic name`)
  if (addrs.length === 0) throw new ToolError('--nsqd-tcp-address required')
  if (Buffer.byteLength(delimiter) !== 1) throw new ToolError('--delimiter must be a single byte')
  if (rate < 0) throw new ToolError('--rate must be >= 0')
  const delim = Buffer.from(delimiter)[0] as number
  const extra = producerOpts(f['producer-opt'] as string[])
  const producers = addrs.map((a) => new Producer(a, { userAgent: userAgent(TOOL), logger: consoleLogger('error', `[${TOOL}] `), retries: 0, ...extra }))
  for (const p of producers) {
    try {
      await p.connect()
    } catch (err) {
      fatal(TOOL, `failed to connect to ${p.addresses[0]}: ${(err as Error).message}`)
    }
  }

  let outstanding = 0
  let published = 0
  let ended = false
  const onPublished = (err: Error | null): void => {
    outstanding--
    if (err !== null) fatal(TOOL, `failed to publish: ${err.message}`)
    published++
    if (statusEvery > 0 && published % (statusEvery * producers.length) === 0) logLine(TOOL, `published ${published / producers.length} messages`)
    if (outstanding < WINDOW / 2 && process.stdin.isPaused() && !ended) process.stdin.resume()
    if (ended && outstanding === 0) void finish()
  }
  // Token bucket: `rate` tokens per second, at most one second of burst.
  let tokens = rate
  let lastRefill = Date.now()
  const pendingRecords: Buffer[] = []
  let waiting: NodeJS.Timeout | null = null
  const send = (rec: Buffer): void => {
    for (const p of producers) {
      outstanding++
      p.publishCb(topic, rec, onPublished)
    }
    if (outstanding >= WINDOW) process.stdin.pause()
  }
  const pump = (): void => {
    waiting = null
    while (pendingRecords.length > 0) {
      if (rate > 0) {
        const now = Date.now()
        tokens = Math.min(rate, tokens + ((now - lastRefill) / 1000) * rate)
        lastRefill = now
        if (tokens < 1) {
          waiting = setTimeout(pump, Math.ceil(((1 - tokens) / rate) * 1000))
          process.stdin.pause()
          return
        }
        tokens -= 1
      }
      send(pendingRecords.shift() as Buffer)
    }
    if (rate > 0 && !ended && process.stdin.isPaused() && outstanding < WINDOW) process.stdin.resume()
    if (ended && outstanding === 0) void finish()
  }
  const record = (rec: Buffer): void => {
    if (rec.length === 0) return
    if (rate === 0 && pendingRecords.length === 0) send(rec)
    else {
      pendingRecords.push(rec)
      if (waiting === null) pump()
    }
  }

  let finishing = false
  const finish = async (): Promise<void> => {
    if (finishing || pendingRecords.length > 0 || outstanding > 0) return
    finishing = true
    await Promise.all(producers.map((p) => p.close()))
    if (statusEvery > 0) logLine(TOOL, `published ${published / producers.length} messages`)
    process.exit(0)
  }

  let rest: Buffer | null = null
  process.stdin.on('data', (chunk: Buffer) => {
    let buf = chunk
    if (rest !== null) {
      buf = Buffer.concat([rest, chunk])
      rest = null
    }
    let start = 0
    while (true) {
      const i = buf.indexOf(delim, start)
      if (i < 0) break
      record(buf.subarray(start, i))
      start = i + 1
    }
    if (start < buf.length) rest = Buffer.from(buf.subarray(start))
  })
  process.stdin.on('end', () => {
    ended = true
    if (rest !== null) record(rest)
    rest = null
    if (pendingRecords.length === 0 && outstanding === 0) void finish()
  })
  process.stdin.on('error', (err) => { fatal(TOOL, `reading stdin: ${err.message}`) })
  onSignals(() => {
    ended = true
    process.stdin.pause()
    pendingRecords.length = 0
    if (outstanding === 0) void finish()
  })
})
