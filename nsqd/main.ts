#!/usr/bin/env node
// The nsqd binary: flags (Go syntax) > --config file > defaults, then start and print one
// machine-readable line to stdout:
//   nsqd listening tcp=127.0.0.1:4150 http=127.0.0.1:4151
// SIGINT/SIGTERM shut down cleanly (queues, in-flight and deferred messages are stored), then exit 0.
// SIGUSR2 starts a drain (nsqd/drain.ts, as PUT /config/draining `true`); once drained the process
// shuts down cleanly and exits 0, unless --drain-exit=false. A --replication-group node drains by
// leaving the group (a standby) or handing over to an in-sync standby (the primary), then exits 0
// (nsqd/replication/README.md).

import { main } from '../client/daemon/main.js'
import { FLAG_SPECS, optionsFromFlags, VERSION } from './options.js'
import { NSQD } from './nsqd.js'
import { ReplicatedNode } from './replication/node.js'

main({
  name: 'nsqd',
  version: VERSION,
  flags: FLAG_SPECS,
  create: (values) => {
    const o = optionsFromFlags(values)
    // --replication-group: a primary or standby of a replicated group (nsqd/replication/README.md)
    return o.replicationGroup !== '' ? new ReplicatedNode(o) : new NSQD(o)
  },
  start: async (n) => { await n.start() },
  listening: (n) => (n.httpAddress !== '' ? `tcp=${n.tcpAddress} http=${n.httpAddress}` : `tcp=${n.tcpAddress}`) +
    (n instanceof ReplicatedNode ? ` replication=${n.replicationAddress}` : ''),
  onSignal: (n, signal) => { n.logger.info(signal === 'drained' ? 'NSQ: drain finished, shutting down' : `NSQ: received ${signal}, shutting down`) },
  started: (n, stop) => {
    if (n instanceof ReplicatedNode) {
      // a replicated node's drain: a standby leaves the group, the primary hands over, then exit 0
      n.onDrained = () => { stop('drained') }
      process.on('SIGUSR2', () => {
        const refused = n.drain('SIGUSR2')
        if (refused !== null) n.logger.warn(`NSQ: SIGUSR2 ignored - ${refused}`)
      })
      return
    }
    n.drain.onDrained = () => { if (n.options.drainExit) stop('drained') }
    process.on('SIGUSR2', () => { n.drain.start('SIGUSR2') })
  },
  close: async (n) => { await n.close() }
})
