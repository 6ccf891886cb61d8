#!/usr/bin/env node
// nsqd entry point: flags (Go syntax) → config file → defaults, then start; SIGINT/SIGTERM stop cleanly.

import fs from 'node:fs'
import { parseFlags, applyConfig, formatHelp, parseTomlSubset, FlagError } from '../client/wire/flags.js'
import { FLAG_SPECS, optionsFromFlags, VERSION } from './options.js'
import { NSQD } from './nsqd.js'

async function main (argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseFlags(FLAG_SPECS, argv)
  } catch (err) {
    if (err instanceof FlagError) {
      process.stderr.write(`${err.message}\n${formatHelp('nsqd', FLAG_SPECS)}`)
      return 2
    }
    throw err
  }
  if (parsed.help) {
    process.stdout.write(formatHelp('nsqd', FLAG_SPECS))
    return 0
  }
  if (parsed.values.version === true) {
    process.stdout.write(`nsqd v${VERSION} (nsq-ts, node ${process.version})\n`)
    return 0
  }
  const configPath = String(parsed.values.config ?? '')
  if (configPath !== '') {
    try {
      applyConfig(FLAG_SPECS, parsed, parseTomlSubset(fs.readFileSync(configPath, 'utf8')))
    } catch (err) {
      process.stderr.write(`failed to load config file ${configPath} - ${(err as Error).message}\n`)
      return 1
    }
  }
  let nsqd: NSQD
  try {
    nsqd = new NSQD(optionsFromFlags(parsed.values))
    await nsqd.start()
  } catch (err) {
    process.stderr.write(`[nsqd] FATAL: ${(err as Error).message}\n`)
    return 1
  }
  const addrs = [`tcp=${nsqd.tcpAddress}`]
  const http = (nsqd as unknown as { httpAddress?: string }).httpAddress
  if (typeof http === 'string' && http !== '') addrs.push(`http=${http}`)
  process.stdout.write(`nsqd v${VERSION} listening ${addrs.join(' ')}\n`)

  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      nsqd.logger.info(`NSQ: received ${sig}, shutting down`)
      resolve()
    }
    process.once('SIGINT', () => { stop('SIGINT') })
    process.once('SIGTERM', () => { stop('SIGTERM') })
  })
  await nsqd.close()
  return 0
}

main(process.argv.slice(2)).then((code) => { process.exit(code) }, (err: Error) => {
  process.stderr.write(`[nsqd] FATAL: ${err.stack ?? err.message}\n`)
  process.exit(1)
})
