#!/usr/bin/env node
// The nsqadmin binary: flags (Go syntax) > --config file > defaults, then start the admin and
// print one machine-readable line to stdout:
//   nsqadmin listening http=0.0.0.0:4171
// SIGINT/SIGTERM close the listener and live streams, then exit.
// `nsqadmin --hash-password` instead reads a password from stdin (one trailing newline dropped),
// prints its scrypt hash for a --users-file line, and exits.

import { main } from '../client/daemon/main.js'
import { hashPassword } from './auth.js'
import { NSQAdmin } from './nsqadmin.js'
import { FLAG_SPECS, VERSION, optionsFromFlags } from './options.js'

if (process.argv.slice(2).some((a) => a === '--hash-password' || a === '-hash-password')) {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
  if (password === '') {
    process.stderr.write('nsqadmin --hash-password: empty password on stdin\n')
    process.exit(2)
  }
  process.stdout.write(`${await hashPassword(password)}\n`)
  process.exit(0)
}

main({
  name: 'nsqadmin',
  version: VERSION,
  flags: FLAG_SPECS,
  create: (values) => new NSQAdmin(optionsFromFlags(values)),
  start: async (a) => { await a.start() },
  listening: (a) => `http=${a.httpAddress.address}`,
  close: async (a) => { await a.close() }
})
