#!/usr/bin/env node
// The nsqlookupd binary: flags (Go syntax) > --config file > defaults, then start the daemon and
// print one machine-readable line to stdout:
//   nsqlookupd listening tcp=127.0.0.1:4160 http=127.0.0.1:4161
// SIGINT/SIGTERM close listeners and connections, then exit.

import { main } from '../client/daemon/main.js'
import { NSQLookupd } from './nsqlookupd.js'
import { FLAG_SPECS, VERSION, optionsFromFlags } from './options.js'

main({
  name: 'nsqlookupd',
  version: VERSION,
  flags: FLAG_SPECS,
  create: (values) => new NSQLookupd(optionsFromFlags(values)),
  start: async (d) => { await d.start() },
  listening: (d) => `tcp=${d.tcpAddress.address} http=${d.httpAddress.address}`,
  close: async (d) => { await d.close() }
})
