#!/usr/bin/env node
// The nsqadmin binary: flags (Go syntax) > --config file > defaults, then start the admin and
// print one machine-readable line to stdout:
//   nsqadmin listening http=0.0.0.0:4171
// SIGINT/SIGTERM close the listener and live streams, then exit.

import { main } from '../client/daemon/main.js'
import { NSQAdmin } from './nsqadmin.js'
import { FLAG_SPECS, VERSION, optionsFromFlags } from './options.js'

main({
  name: 'nsqadmin',
  version: VERSION,
  flags: FLAG_SPECS,
  create: (values) => new NSQAdmin(optionsFromFlags(values)),
  start: async (a) => { await a.start() },
  listening: (a) => `http=${a.httpAddress.address}`,
  close: async (a) => { await a.close() }
})
