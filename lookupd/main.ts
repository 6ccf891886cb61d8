#!/usr/bin/env node
// The nsqlookupd binary: flags (Go syntax) > --config file > defaults, then start the daemon and
// print one machine-readable line to stdout:
//   nsqlookupd listening tcp=127.0.0.1:4160 http=127.0.0.1:4161
// SIGINT/SIGTERM close listeners and connections, then exit.

import fs from 'node:fs'
import { FlagError, applyConfig, formatHelp, parseFlags, parseTomlSubset } from '../client/wire/flags.js'
import { NSQLookupd } from './nsqlookupd.js'
import { FLAG_SPECS, VERSION, optionsFromFlags } from './options.js'

function fail (msg: string, code = 1): never {
  process.stderr.write(`${msg}\n`)
  process.exit(code)
}

async function main (argv: string[]): Promise<void> {
  let parsed
  try {
    parsed = parseFlags(FLAG_SPECS, argv)
  } catch (err) {
    if (err instanceof FlagError) {
      process.stderr.write(`${err.message}\n${formatHelp('nsqlookupd', FLAG_SPECS)}`)
      process.exit(2)
    }
    throw err
  }
  if (parsed.help) {
    process.stderr.write(formatHelp('nsqlookupd', FLAG_SPECS))
    process.exit(0)
  }
  if (parsed.values.version === true) {
    process.stdout.write(`nsqlookupd v${VERSION} (built w/node ${process.version})\n`)
    process.exit(0)
  }
  const configPath = String(parsed.values.config)
  if (configPath !== '') {
    let config: Record<string, unknown>
    try {
      config = parseTomlSubset(fs.readFileSync(configPath, 'utf8'))
    } catch (err) {
      fail(`failed to load config file ${configPath} - ${(err as Error).message}`)
    }
    try {
      applyConfig(FLAG_SPECS, parsed, config)
    } catch (err) {
      fail(`config file ${configPath}: ${(err as Error).message}`)
    }
  }

  let daemon: NSQLookupd
  try {
    daemon = new NSQLookupd(optionsFromFlags(parsed.values))
  } catch (err) {
    fail(`FATAL: ${(err as Error).message}`)
  }
  try {
    await daemon.start()
  } catch (err) {
    fail(`FATAL: failed to start nsqlookupd - ${(err as Error).message}`)
  }
  process.stdout.write(`nsqlookupd listening tcp=${daemon.tcpAddress.address} http=${daemon.httpAddress.address}\n`)

  let stopping = false
  const stop = (): void => {
    if (stopping) return
    stopping = true
    daemon.close().then(() => process.exit(0), (err: Error) => fail(`error while closing - ${err.message}`))
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

main(process.argv.slice(2)).catch((err: Error) => fail(`FATAL: ${err.stack ?? err.message}`))
