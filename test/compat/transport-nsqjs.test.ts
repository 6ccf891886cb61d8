// nsqjs (from npm) with tls, snappy and deflate against our nsqd, through a recording proxy: the
// IDENTIFY response crosses in plain text with the feature set, then the stream really is TLS /
// snappy framing / raw deflate (no message body visible on the wire), with 100 KB messages.

import t from 'tap'
import type { Test } from 'tap'
import zlib from 'node:zlib'
import nsq from 'nsqjs'
import type * as Nsq from 'nsqjs'
import { startNSQD, uniq } from '../helpers/nsqd.js'
import { makeCerts } from '../helpers/certs.js'
import { recordingProxy, type Recording } from '../helpers/transport.js'
import { SNAPPY_STREAM_IDENTIFIER } from '../../client/wire/snappy-stream.js'

const certs = makeCerts(t)

interface Case { name: string, opts: Record<string, unknown>, check: (t: Test, after: Buffer, resp: Record<string, unknown>) => void }

const MARKER = 'NSQJS-MARKER-'

const cases: Case[] = [
  {
    name: 'tls',
    opts: { tls: true, tlsVerification: true, ca: certs.ca },
    check: (t, after, resp) => {
      t.equal(resp.tls_v1, true)
      t.equal(after[0], 0x16, 'a TLS handshake record follows the response')
    }
  },
  {
    name: 'snappy',
    opts: { snappy: true },
    check: (t, after, resp) => {
      t.equal(resp.snappy, true)
      t.same(after.subarray(0, 10), SNAPPY_STREAM_IDENTIFIER, 'the snappy stream identifier follows the response')
    }
  },
  {
    name: 'deflate',
    opts: { deflate: true, deflateLevel: 6 },
    check: (t, after, resp) => {
      t.equal(resp.deflate, true)
      const end = after.indexOf(Buffer.from([0x00, 0x00, 0xff, 0xff])) + 4
      t.same(zlib.inflateRawSync(after.subarray(0, end), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(8).toString(), 'OK', 'raw deflate of the OK follows')
    }
  },
  {
    name: 'tls + snappy',
    opts: { tls: true, tlsVerification: true, ca: certs.ca, snappy: true },
    check: (t, after, resp) => {
      t.equal(resp.tls_v1, true)
      t.equal(resp.snappy, true)
      t.equal(after[0], 0x16)
    }
  }
]

function split (rec: Recording): { resp: Record<string, unknown>, after: Buffer, all: Buffer, sent: Buffer } {
  const all = Buffer.concat(rec.toClient)
  const size = all.readInt32BE(0)
  return { resp: JSON.parse(all.subarray(8, 4 + size).toString()), after: all.subarray(4 + size), all, sent: Buffer.concat(rec.toServer) }
}

for (const c of cases) {
  t.test(`nsqjs ${c.name}: Writer and Reader, 100 KB messages, upgrade proven on the wire`, async (t) => {
    const nsqd = await startNSQD(t, { tlsCert: certs.certFile, tlsKey: certs.keyFile })
    const proxy = await recordingProxy(t, nsqd.tcpAddress)
    const port = Number(proxy.addr.split(':')[1])
    const topic = uniq()
    const w = new nsq.Writer('127.0.0.1', port, c.opts as never)
    w.connect()
    await new Promise<void>((resolve, reject) => { w.once('ready', () => { resolve() }); w.once('error', reject) })
    t.teardown(() => { w.close() })
    const bodies = Array.from({ length: 5 }, (_, i) => Buffer.concat([Buffer.from(`${MARKER}${i}-`), Buffer.alloc(100 * 1024, `payload ${i} `)]))
    for (const b of bodies) {
      await new Promise<void>((resolve, reject) => { w.publish(topic, b, (err?: Error) => { if (err) reject(err); else resolve() }) })
    }
    await new Promise<void>((resolve, reject) => { w.publish(topic, ['small-a', 'small-b'], (err?: Error) => { if (err) reject(err); else resolve() }) })

    const r: Nsq.Reader = new nsq.Reader(topic, 'ch', { nsqdTCPAddresses: [proxy.addr], maxInFlight: 10, ...c.opts } as never)
    t.teardown(() => { r.close() })
    const got: Buffer[] = []
    await new Promise<void>((resolve, reject) => {
      r.on('message', (m: Nsq.Message) => { got.push(m.body); m.finish(); if (got.length === 7) resolve() })
      r.on('error', reject)
      r.connect()
    })
    const big = got.filter((b) => b.length > 1000).sort((a, b) => a.compare(b))
    t.same(big, [...bodies].sort((a, b) => a.compare(b)), '100 KB bodies intact')
    t.same(got.filter((b) => b.length < 100).map(String).sort(), ['small-a', 'small-b'])

    t.equal(proxy.conns.length, 2, 'writer and reader went through the proxy')
    for (const rec of proxy.conns) {
      const { resp, after, all, sent } = split(rec)
      c.check(t, after, resp)
      if (c.name !== 'snappy') {
        // (snappy copies the first bytes of a block as a literal, so only TLS and deflate hide them)
        t.equal(all.indexOf(MARKER), -1, 'no message body in plain text towards the client')
        t.equal(sent.indexOf(MARKER), -1, 'nor towards nsqd')
      } else {
        t.equal(all.indexOf(Buffer.alloc(1000, 'payload 0 ')), -1, 'no run of the body in plain text')
      }
      if (c.name !== 'tls') t.ok(all.length < 100 * 1024, `compressed: ${all.length} bytes on the wire`)
    }
    const kinds = [...nsqd.clients.values()].map((p) => ({ tls: p.client.tls, snappy: p.client.snappy, deflate: p.client.deflate }))
    t.same(kinds[0], { tls: c.opts.tls === true, snappy: c.opts.snappy === true, deflate: c.opts.deflate === true }, 'nsqd reports the negotiated layers')
  })
}

t.test('nsqjs against a TLS-required node without TLS fails with the exact error', async (t) => {
  const nsqd = await startNSQD(t, { tlsCert: certs.certFile, tlsKey: certs.keyFile, tlsRequired: 1 })
  const port = Number(nsqd.tcpAddress.split(':')[1])
  const w = new nsq.Writer('127.0.0.1', port)
  w.connect()
  await new Promise<void>((resolve, reject) => { w.once('ready', () => { resolve() }); w.once('error', reject) })
  t.teardown(() => { w.close() })
  const err = await new Promise<Error>((resolve) => { w.publish(uniq(), 'x', (e?: Error) => { resolve(e ?? new Error('no error')) }) })
  t.match(err.message, /E_INVALID cannot PUB in current state \(TLS required\)/)
})
