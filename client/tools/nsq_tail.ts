#!/usr/bin/env node
// nsq_tail: consumes topics and writes each message body plus "\n" to stdout.

import { Consumer } from '../consumer.js'
import { consoleLogger } from '../logger.js'
import type { FlagSpec } from '../wire/flags.js'
import { isValidChannelName, isValidTopicName } from '../wire/names.js'
import { ToolError, checkSources, consumerOpts, exitAfterFlush, onSignals, parseToolFlags, run, userAgent } from './common.js'

const TOOL = 'nsq_tail'

const SPECS: FlagSpec[] = [
  { name: 'topic', kind: 'strings', default: [], usage: 'NSQ topic (may be given multiple times)' },
  { name: 'channel', kind: 'string', default: '', usage: 'NSQ channel (default tail<random>#ephemeral)' },
  { name: 'nsqd-tcp-address', kind: 'strings', default: [], usage: 'nsqd TCP address (may be given multiple times)' },
  { name: 'lookupd-http-address', kind: 'strings', default: [], usage: 'lookupd HTTP address (may be given multiple times)' },
  { name: 'max-in-flight', kind: 'int', default: 200, usage: 'max number of messages to allow in flight' },
  { name: 'n', kind: 'int', default: 0, usage: 'total messages to show (will wait if starved)' },
  { name: 'print-topic', kind: 'bool', default: false, usage: 'print topic name where message was received' },
  { name: 'consumer-opt', kind: 'strings', default: [], usage: 'option to passthrough to nsq.Consumer (may be given multiple times)' }
]

run(TOOL, async () => {
  const f = parseToolFlags(TOOL, SPECS, process.argv.slice(2))
  const topics = f.topic as string[]
  const nsqd = f['nsqd-tcp-address'] as string[]
  const lookupd = f['lookupd-http-address'] as string[]
  let channel = f.channel as string
  const total = f.n as number
  let maxInFlight = f['max-in-flight'] as number
  if (channel === '') channel = `tail${String(Math.floor(Math.random() * 999999)).padStart(6, '0')}#ephemeral`
  if (topics.length === 0) throw new ToolError('--topic is required')
  for (const t of topics) if (!isValidTopicName(t)) throw new ToolError(`--topic ${JSON.stringify(t)} is not a valid topic name`)
  if (!isValidChannelName(channel)) throw new ToolError(`--channel ${JSON.stringify(channel)} is not a valid channel name`)
  checkSources(nsqd, lookupd)
  if (maxInFlight < 1) throw new ToolError('--max-in-flight must be > 0')
  if (total < 0) throw new ToolError('--n must be >= 0')
  if (total > 0 && maxInFlight > total) maxInFlight = total
  const extra = consumerOpts(f['consumer-opt'] as string[])
  const printTopic = f['print-topic'] as boolean

  // Output is gathered per tick and written at once.
  const NL = Buffer.from('\n')
  let out: Buffer[] = []
  let flushing = false
  const flush = (): void => {
    flushing = false
    if (out.length === 0) return
    process.stdout.write(Buffer.concat(out))
    out = []
  }
  let shown = 0
  let stopping = false
  const consumers: Consumer[] = []
  const stop = (): void => {
    if (stopping) return
    stopping = true
    Promise.all(consumers.map((c) => c.close())).finally(() => {
      flush()
      exitAfterFlush(0)
    })
  }
  for (const topic of topics) {
    const prefix = Buffer.from(`${topic} | `)
    const c = new Consumer({
      userAgent: userAgent(TOOL),
      logger: consoleLogger('warn', `[${TOOL}] `),
      maxInFlight,
      ...extra,
      topic,
      channel,
      nsqdTcpAddresses: nsqd,
      lookupdHttpAddresses: lookupd
    })
    c.handle((m) => {
      if (total > 0 && shown >= total) {
        m.requeue(0, { backoff: false })
        return
      }
      shown++
      if (printTopic) out.push(prefix)
      out.push(m.body, NL)
      if (!flushing) {
        flushing = true
        setImmediate(flush)
      }
      if (total > 0 && shown >= total) stop()
    })
    consumers.push(c)
  }
  onSignals(stop)
  process.stdout.on('error', () => { stop() })
  await Promise.all(consumers.map((c) => c.connect()))
})
