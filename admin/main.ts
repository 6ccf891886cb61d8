#!/usr/bin/env node
// The nsqadmin binary: flags (Go syntax) > --config file > defaults, then start the admin and
// print one machine-readable line to stdout:
//   nsqadmin listening http=0.0.0.0:4171
// SIGINT/SIGTERM close the listener and live streams, then exit.

import fs from 'node:fs'
import { FlagError, applyConfig, formatHelp, parseFlags, parseTomlSubset } from '../client/wire/flags.js'
import { NSQAdmin } from './nsqadmin.js'
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
      process.stderr.write(`${err.message}\n${formatHelp('nsqadmin', FLAG_SPECS)}`)
      process.exit(2)
    }
    throw err
  }
  if (parsed.help) {
    process.stderr.write(formatHelp('nsqadmin', FLAG_SPECS))
    process.exit(0)
  }
  if (parsed.values.version === true) {
    process.stdout.write(`nsqadmin v${VERSION} (built w/node ${process.version})\n`)
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

  let admin: NSQAdmin
  try {
    admin = new NSQAdmin(optionsFromFlags(parsed.values))
  } catch (err) {
    fail(`FATAL: ${(err as Error).message}`)
  }
  try {
    await admin.start()
  } catch (err) {
    fail(`FATAL: failed to start nsqadmin - ${(err as Error).message}`)
  }
  process.stdout.write(`nsqadmin listening http=${admin.httpAddress.address}\n`)

  let stopping = false
  const stop = (): void => {
    if (stopping) return
    stopping = true
    admin.close().then(() => process.exit(0), (err: Error) => fail(`error while closing - ${err.message}`))
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

main(process.argv.slice(2)).catch((err: Error) => fail(`FATAL: ${err.stack ?? err.message}`))
