// nsqd's transport upgrades on the wire: TLS, snappy, deflate and TLS+compression, checked on the
// bytes a recording proxy saw (plain IDENTIFY response, then a TLS record / the snappy stream
// identifier / raw deflate), with 100 KB messages both ways; the TLS-required policy, client
// certificate policies, and bad input (plain TCP to a TLS node, bad certificates, corrupted
// compressed streams, garbage instead of a handshake, clients vanishing mid-stream) ending the
// connection without a crash or a leaked client; half-closed commands and the 16 KiB line limit
// through every layer.

import t from 'tap'
import type { Test } from 'tap'
import crypto from 'node:crypto'
import https from 'node:https'
import http from 'node:http'
import zlib from 'node:zlib'
import type { TLSSocket } from 'node:tls'
import { startNSQD, uniq, until, RawConn } from '../helpers/nsqd.js'
import { makeCerts, type TestCerts } from '../helpers/certs.js'
import { recordingProxy, LayeredConn } from '../helpers/transport.js'
import * as cmd from '../../client/wire/commands.js'
import { FRAME_OK } from '../../client/wire/frames.js'
import { SNAPPY_STREAM_IDENTIFIER } from '../../client/wire/snappy-stream.js'
import { maskedCrc32c } from '../../client/wire/crc32c.js'
import { clientStats } from '../../nsqd/stats.js'
import { NSQD } from '../../nsqd/nsqd.js'
import type { Options } from '../../nsqd/options.js'

const certs: TestCerts = makeCerts(t)

async function tlsNode (t: Parameters<typeof startNSQD>[0], extra: Partial<Options> = {}): Promise<NSQD> {
  return await startNSQD(t, { tlsCert: certs.certFile, tlsKey: certs.keyFile, httpsAddress: '127.0.0.1:0', ...extra })
}

function frameOf (wire: Buffer): { size: number, type: number, data: Buffer, end: number } {
  const size = wire.readInt32BE(0)
  return { size, type: wire.readInt32BE(4), data: wire.subarray(8, 4 + size), end: 4 + size }
}

/** Publishes a 100 KB body and a small one, subscribes and checks both arrive intact. */
async function roundTrip (t: Test, c: LayeredConn, topic: string): Promise<Buffer> {
  const big = Buffer.concat([Buffer.from('MARKER-'), Buffer.alloc(100 * 1024 - 7, 'abcdefgh')])
  c.write(cmd.pub(topic, big))
  t.equal(await c.response(), 'OK', 'PUB of 100 KB')
  c.write(cmd.mpub(topic, ['small-1', 'small-2']))
  t.equal(await c.response(), 'OK', 'MPUB')
  c.write(cmd.sub(topic, 'ch'))
  t.equal(await c.response(), 'OK', 'SUB')
  c.write(cmd.rdy(10))
  const m1 = await c.message()
  t.same(m1.body, big, '100 KB body intact')
  c.write(cmd.fin(m1.id))
  const bodies = [(await c.message()).body.toString(), (await c.message()).body.toString()].sort()
  t.same(bodies, ['small-1', 'small-2'])
  return big
}

t.test('TLS: plain IDENTIFY response, handshake, OK inside TLS, 100 KB both ways; /stats', async (t) => {
  const nsqd = await tlsNode(t)
  const proxy = await recordingProxy(t, nsqd.tcpAddress)
  const c = await LayeredConn.connect(t, proxy.addr)
  const f = await c.identify({ tls_v1: true, deflate_level: 9 })
  const resp = JSON.parse(f.data.toString())
  t.equal(resp.tls_v1, true)
  t.equal(resp.snappy, false)
  t.equal(resp.deflate, false)
  t.equal(resp.deflate_level, 6, 'capped at --max-deflate-level even when not negotiated')
  const sock = await c.startTls({ ca: certs.ca })
  t.equal(sock.authorized, true, 'server certificate verified against the CA')
  t.equal(await c.response(), 'OK', 'OK inside TLS')
  c.continuePlain()
  await roundTrip(t, c, uniq())

  const wire = Buffer.concat(proxy.conns[0]!.toClient)
  const first = frameOf(wire)
  t.equal(first.type, 0)
  t.same(JSON.parse(first.data.toString()), resp, 'the IDENTIFY response crossed the wire in plain text')
  t.equal(wire[first.end], 0x16, 'then a TLS handshake record')
  t.equal(wire.indexOf('MARKER-'), -1, 'no message body in plain text on the wire')
  t.equal(wire.subarray(first.end).indexOf(FRAME_OK), -1, 'no plain OK after the response')
  t.equal(Buffer.concat(proxy.conns[0]!.toServer).indexOf('MARKER-'), -1, 'nor from the client')

  const p = [...nsqd.clients.values()].find((x) => x.client.tls)!
  const s = clientStats(p.client, '')
  t.equal(s.tls, true)
  t.match(s.tls_version, /^TLS1\.[23]$/)
  t.match(s.tls_cipher_suite, /^TLS_/)
})

t.test('snappy: stream identifier and framed OK exactly as nsqd sends them, 100 KB compressed', async (t) => {
  const nsqd = await startNSQD(t)
  const proxy = await recordingProxy(t, nsqd.tcpAddress)
  const c = await LayeredConn.connect(t, proxy.addr)
  const f = await c.identify({ snappy: true })
  t.equal(JSON.parse(f.data.toString()).snappy, true)
  c.startCompression('snappy')
  t.equal(await c.response(), 'OK')
  await roundTrip(t, c, uniq())
  const wire = Buffer.concat(proxy.conns[0]!.toClient)
  const first = frameOf(wire)
  const after = wire.subarray(first.end)
  t.same(after.subarray(0, 10), SNAPPY_STREAM_IDENTIFIER, 'stream identifier right after the plain response')
  t.same(after.subarray(10, 14), Buffer.from([0x01, 0x0e, 0x00, 0x00]), 'uncompressed chunk of 14 bytes')
  t.equal(after.readUInt32LE(14), maskedCrc32c(FRAME_OK), 'masked CRC-32C')
  t.same(after.subarray(18, 28), FRAME_OK, 'the OK frame')
  t.ok(wire.length < 40 * 1024, `100 KB of repetitive data crossed as ${wire.length} bytes`)
  t.ok(Buffer.concat(proxy.conns[0]!.toServer).length < 40 * 1024, 'the client compressed too')
  const p = [...nsqd.clients.values()][0]!
  t.equal(clientStats(p.client, '').snappy, true)
})

t.test('snappy: a half-closed command gets nsqd\'s read error, compressed, then the close', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq()
  const cases: Array<[Buffer, string | null]> = [
    [Buffer.from(`PUB ${topic}\n`), 'E_BAD_MESSAGE PUB failed to read message body size'],
    [Buffer.concat([Buffer.from(`MPUB ${topic}\n`), Buffer.from([0, 0, 0, 9, 0, 0, 0, 1])]), 'E_BAD_MESSAGE MPUB failed to read message(0) body size'],
    [Buffer.from('NOP\n'), null]
  ]
  for (const [input, want] of cases) {
    const c = await LayeredConn.connect(t, nsqd.tcpAddress)
    await c.identify({ snappy: true })
    c.startCompression('snappy')
    t.equal(await c.response(), 'OK')
    c.write(input)
    c.end()
    if (want !== null) t.equal(await c.error(), want)
    await c.waitClosed()
    t.equal(c.streamError, null, 'the compressed stream stayed intact')
  }
})

/** A connection through TLS (when `withTls`) and then `kind` compression, both OKs read. */
async function layered (t: Test, addr: string, withTls: boolean, kind: 'snappy' | 'deflate' | null): Promise<{ c: LayeredConn, sock: TLSSocket | null }> {
  const c = await LayeredConn.connect(t, addr)
  const features: Record<string, unknown> = {}
  if (withTls) features.tls_v1 = true
  if (kind !== null) features[kind] = true
  await c.identify(features)
  let sock: TLSSocket | null = null
  if (withTls) {
    sock = await c.startTls({ ca: certs.ca })
    t.equal(await c.response(), 'OK')
    if (kind === null) c.continuePlain()
  }
  if (kind !== null) {
    c.startCompression(kind)
    t.equal(await c.response(), 'OK')
  }
  return { c, sock }
}

/** Inputs that end mid-command, and what nsqd answers once the client ends its side after them. */
function halfClosedCases (topic: string): Array<[Buffer, string | null]> {
  return [
    [Buffer.from(`PUB ${topic}\n`), 'E_BAD_MESSAGE PUB failed to read message body size'],
    [Buffer.concat([Buffer.from(`PUB ${topic}\n`), Buffer.from([0, 0, 0, 5]), Buffer.from('ab')]), 'E_BAD_MESSAGE PUB failed to read message body'],
    [Buffer.concat([Buffer.from(`MPUB ${topic}\n`), Buffer.from([0, 0, 0, 9, 0, 0, 0, 1])]), 'E_BAD_MESSAGE MPUB failed to read message(0) body size'],
    [Buffer.from('IDENTIFY\n\u0000\u0000'), 'E_BAD_BODY IDENTIFY failed to read body size'],
    [Buffer.from('NOP\nPUB'), null],
    [Buffer.alloc(0), null]
  ]
}

t.test('deflate: a half-closed command gets nsqd\'s read error, compressed, after what came before it', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq()
  for (const [input, want] of halfClosedCases(topic)) {
    const { c } = await layered(t, nsqd.tcpAddress, false, 'deflate')
    // a complete PUB first: its OK goes out before the error, as nsqd reads commands in order
    c.write(cmd.pub(topic, 'before'))
    c.write(input)
    c.end()
    t.equal(await c.response(), 'OK', 'the complete PUB is answered first')
    if (want !== null) t.equal(await c.error(), want, `${JSON.stringify(input.toString('latin1'))}: ${want}`)
    await c.waitClosed()
    t.equal(c.streamError, null, 'the compressed stream stayed intact')
    t.equal(c.pending(), 0, 'nothing after it')
  }
  // the compressed stream itself cut short (a stored block's header, no more): no stream error,
  // the command it left unfinished gets its read error
  const { c } = await layered(t, nsqd.tcpAddress, false, 'deflate')
  c.write(Buffer.concat([cmd.pub(topic, 'before'), Buffer.from(`PUB ${topic}\n`)]))
  t.equal(await c.response(), 'OK')
  c.raw.end(Buffer.from([0x00, 0x05]))
  t.equal(await c.error(), 'E_BAD_MESSAGE PUB failed to read message body size', 'a deflate block cut short')
  await c.waitClosed()
  t.equal(c.pending(), 0)
  await until(() => nsqd.clients.size === 0, 'no client left behind')
})

t.test('deflate: raw DEFLATE after the plain response, sync-flushed, level negotiated', async (t) => {
  const nsqd = await startNSQD(t, { maxDeflateLevel: 9 })
  const proxy = await recordingProxy(t, nsqd.tcpAddress)
  const c = await LayeredConn.connect(t, proxy.addr)
  const f = await c.identify({ deflate: true, deflate_level: 8 })
  const resp = JSON.parse(f.data.toString())
  t.equal(resp.deflate, true)
  t.equal(resp.deflate_level, 8)
  t.equal(resp.max_deflate_level, 9)
  c.startCompression('deflate', 8)
  t.equal(await c.response(), 'OK')
  await roundTrip(t, c, uniq())
  const wire = Buffer.concat(proxy.conns[0]!.toClient)
  const first = frameOf(wire)
  const after = wire.subarray(first.end)
  t.equal(after.indexOf(FRAME_OK), -1, 'the OK is not sent in plain')
  const okEnd = after.indexOf(Buffer.from([0x00, 0x00, 0xff, 0xff])) + 4
  t.ok(okEnd > 4, 'a sync flush marker ends the first flush')
  t.same(zlib.inflateRawSync(after.subarray(0, okEnd), { finishFlush: zlib.constants.Z_SYNC_FLUSH }), FRAME_OK, 'which inflates to the OK frame')
  t.ok(wire.length < 40 * 1024, `100 KB crossed as ${wire.length} bytes`)
  t.equal(wire.indexOf('MARKER-'), -1)
  t.equal(clientStats([...nsqd.clients.values()][0]!.client, '').deflate, true)
})

t.test('TLS + snappy and TLS + deflate: OK inside TLS, then the compressed OK', async (t) => {
  const nsqd = await tlsNode(t)
  for (const kind of ['snappy', 'deflate'] as const) {
    const proxy = await recordingProxy(t, nsqd.tcpAddress)
    const c = await LayeredConn.connect(t, proxy.addr)
    const resp = JSON.parse((await c.identify({ tls_v1: true, [kind]: true })).data.toString())
    t.equal(resp.tls_v1, true)
    t.equal(resp[kind], true)
    await c.startTls({ ca: certs.ca })
    t.equal(await c.response(), 'OK', `${kind}: TLS OK`)
    c.startCompression(kind)
    t.equal(await c.response(), 'OK', `${kind}: compressed OK`)
    await roundTrip(t, c, uniq())
    const wire = Buffer.concat(proxy.conns[0]!.toClient)
    t.equal(wire[frameOf(wire).end], 0x16, `${kind}: TLS record after the plain response`)
    const p = [...nsqd.clients.values()].find((x) => x.client.tls && x.client[kind])
    t.ok(p !== undefined, `${kind}: client has tls and ${kind}`)
  }
})

t.test('TLS, TLS + snappy, TLS + deflate: a half-closed command gets the error inside TLS, then the close', async (t) => {
  const nsqd = await tlsNode(t)
  const topic = uniq()
  for (const kind of [null, 'snappy', 'deflate'] as const) {
    for (const [input, want] of halfClosedCases(topic)) {
      const { c } = await layered(t, nsqd.tcpAddress, true, kind)
      c.write(cmd.pub(topic, 'before'))
      c.write(input)
      c.end() // close_notify, then FIN; the client keeps reading
      const what = `${kind ?? 'plain'} ${JSON.stringify(input.toString('latin1'))}`
      t.equal(await c.response(), 'OK', `${what}: the complete PUB is answered first`)
      if (want !== null) t.equal(await c.error(), want, `${what}: ${want}`)
      await c.waitClosed()
      t.equal(c.streamError, null, `${what}: TLS and compression stayed intact`)
      t.equal(c.pending(), 0, `${what}: nothing after it`)
    }
    // a bare TCP FIN without close_notify (Go's TLS reader: unexpected EOF) is answered the same way
    const { c } = await layered(t, nsqd.tcpAddress, true, kind)
    c.write(Buffer.from(`PUB ${topic}\n`))
    await until(() => nsqd.clients.size === 1 && [...nsqd.clients.values()][0]!.decoder.eofError() !== null, 'the PUB line read')
    c.raw.end()
    t.equal(await c.error(), 'E_BAD_MESSAGE PUB failed to read message body size', `${kind ?? 'plain'}: FIN without close_notify`)
    await c.waitClosed()
  }
  await until(() => nsqd.clients.size === 0, 'no client left behind')
})

t.test('a TLS client vanishing mid-command or mid-delivery (RST, destroy): no throw, no leak, nsqd keeps serving', async (t) => {
  const nsqd = await tlsNode(t)
  const topic = uniq()
  const big = Buffer.alloc(200 * 1024, 'x')
  const producer = await RawConn.connect(t, nsqd.tcpAddress)
  for (const kind of [null, 'deflate'] as const) {
    for (const how of ['reset', 'destroy', 'close_notify then destroy'] as const) {
      for (const at of ['mid-body', 'mid-delivery'] as const) {
        const { c, sock } = await layered(t, nsqd.tcpAddress, true, kind)
        if (at === 'mid-body') {
          c.write(Buffer.concat([Buffer.from(`PUB ${topic}\n`), Buffer.from([0, 0, 0x10, 0]), Buffer.from('partial')]))
        } else {
          // messages in flight to a vanished client wait for their timeout: fresh ones each time
          producer.write(cmd.mpub(topic, Array.from({ length: 10 }, () => big)))
          t.equal(await producer.response(), 'OK')
          c.write(cmd.sub(topic, 'ch'))
          t.equal(await c.response(), 'OK')
          c.write(cmd.rdy(10))
          await c.message() // nsqd is writing the rest of the 2 MB when the client goes away
        }
        const what = `${kind ?? 'plain'}, ${how}, ${at}`
        if (how === 'reset') c.raw.resetAndDestroy()
        else if (how === 'destroy') c.raw.destroy()
        else { sock?.end(); c.raw.destroy() }
        await until(() => nsqd.clients.size === 1, `${what}: the client is gone`)
        t.pass(what)
      }
    }
  }
  const ok = await RawConn.connect(t, nsqd.tcpAddress)
  ok.write(cmd.pub(topic, 'alive'))
  t.equal(await ok.response(), 'OK', 'nsqd still serves')
})

t.test('the 16384-byte line limit counts the decrypted, decompressed command stream', async (t) => {
  const nsqd = await tlsNode(t)
  const topic = uniq()
  const line = (n: number): string => 'NOP ' + 'A'.repeat(n - 4)
  // 16 KB of one letter deflates to a few dozen bytes: a limit on the wire bytes would let it through
  for (const [withTls, kind] of [[true, null], [false, 'snappy'], [false, 'deflate'], [true, 'snappy'], [true, 'deflate']] as const) {
    const what = [withTls ? 'TLS' : '', kind ?? ''].filter((x) => x !== '').join(' + ')
    const fits = (await layered(t, nsqd.tcpAddress, withTls, kind)).c
    fits.write(line(16383) + '\n')
    fits.write(cmd.pub(topic, 'x'))
    t.equal(await fits.response(), 'OK', `${what}: 16383 bytes + \\n is a command`)
    const long = (await layered(t, nsqd.tcpAddress, withTls, kind)).c
    long.write(cmd.pub(topic, 'y'))
    long.write(line(16384) + '\n')
    t.equal(await long.response(), 'OK', `${what}: the command before the long line is answered`)
    await long.waitClosed()
    t.equal(long.pending(), 0, `${what}: 16384 bytes + \\n closes without a frame`)
    t.equal(long.streamError, null)
  }
})

t.test('negotiation rules: both compressions, no certificate, --snappy=false / --deflate=false', async (t) => {
  const plain = await startNSQD(t)
  let c = await RawConn.connect(t, plain.tcpAddress)
  c.write(cmd.identify({ feature_negotiation: true, snappy: true, deflate: true }))
  t.equal(await c.error(), 'E_IDENTIFY_FAILED cannot enable both deflate and snappy compression')
  await c.waitClosed()
  c = await RawConn.connect(t, plain.tcpAddress)
  const r = JSON.parse(await c.identify({ tls_v1: true }))
  t.equal(r.tls_v1, false, 'no TLS without a certificate')
  c.write(cmd.pub(uniq(), 'still plain'))
  t.equal(await c.response(), 'OK')

  const off = await startNSQD(t, { snappy: false, deflate: false })
  c = await RawConn.connect(t, off.tcpAddress)
  const r2 = JSON.parse(await c.identify({ snappy: true, deflate: true }))
  t.equal(r2.snappy, false)
  t.equal(r2.deflate, false)
  c.write(cmd.pub(uniq(), 'plain'))
  t.equal(await c.response(), 'OK', 'the stream stays plain')

  // without feature_negotiation nothing is upgraded even if asked
  const tn = await tlsNode(t)
  c = await RawConn.connect(t, tn.tcpAddress)
  c.write(cmd.identify({ tls_v1: true, snappy: true }))
  t.equal(await c.response(), 'OK')
  c.write(cmd.pub(uniq(), 'plain'))
  t.equal(await c.response(), 'OK')
})

t.test('--tls-required: every command but IDENTIFY fails before TLS; after the upgrade all work', async (t) => {
  const nsqd = await tlsNode(t, { tlsRequired: 1 })
  for (const [name, bytes] of [['NOP', cmd.NOP], ['PUB', cmd.pub('t', 'x')], ['AUTH', cmd.auth('s')], ['SUB', cmd.sub('t', 'c')]] as const) {
    const c = await RawConn.connect(t, nsqd.tcpAddress)
    c.write(bytes)
    t.equal(await c.error(), `E_INVALID cannot ${name} in current state (TLS required)`)
    await c.waitClosed()
  }
  // IDENTIFY without TLS is allowed, but the next command is not
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  c.write(cmd.identify({ heartbeat_interval: 5000 }))
  t.equal(await c.response(), 'OK')
  c.write(cmd.pub('t', 'x'))
  t.equal(await c.error(), 'E_INVALID cannot PUB in current state (TLS required)')
  await c.waitClosed()

  const l = await LayeredConn.connect(t, nsqd.tcpAddress)
  await l.identify({ tls_v1: true })
  await l.startTls({ ca: certs.ca })
  t.equal(await l.response(), 'OK')
  l.continuePlain()
  l.write(cmd.pub(uniq(), 'over tls'))
  t.equal(await l.response(), 'OK')
  await until(() => nsqd.clients.size === 1, 'only the TLS client left')
})

t.test('client certificates: require-verify and require', async (t) => {
  const verify = await tlsNode(t, { tlsClientAuthPolicy: 'require-verify', tlsRootCaFile: certs.caFile })
  t.equal(verify.options.tlsRequired, 2, 'a client auth policy forces TLS required')
  const good = await LayeredConn.connect(t, verify.tcpAddress)
  await good.identify({ tls_v1: true })
  await good.startTls({ ca: certs.ca, cert: certs.clientCert, key: certs.clientKey })
  t.equal(await good.response(), 'OK', 'a certificate from the CA is accepted')
  good.continuePlain()
  good.write(cmd.pub(uniq(), 'x'))
  t.equal(await good.response(), 'OK')

  for (const [name, opts] of [['no certificate', {}], ['certificate from another CA', { cert: certs.rogueCert, key: certs.rogueKey }]] as const) {
    const c = await LayeredConn.connect(t, verify.tcpAddress)
    await c.identify({ tls_v1: true })
    let failed = false
    try {
      await c.startTls({ ca: certs.ca, ...opts })
      await c.response()
    } catch {
      failed = true
    }
    t.ok(failed, `${name}: the handshake fails or the connection is closed`)
    await c.waitClosed()
  }

  const any = await tlsNode(t, { tlsClientAuthPolicy: 'require' })
  const rogue = await LayeredConn.connect(t, any.tcpAddress)
  await rogue.identify({ tls_v1: true })
  await rogue.startTls({ ca: certs.ca, cert: certs.rogueCert, key: certs.rogueKey })
  t.equal(await rogue.response(), 'OK', 'require: any client certificate will do')
  const none = await LayeredConn.connect(t, any.tcpAddress)
  await none.identify({ tls_v1: true })
  let failed = false
  try {
    await none.startTls({ ca: certs.ca })
    await none.response()
  } catch {
    failed = true
  }
  t.ok(failed, 'require: no certificate is refused')
  await none.waitClosed()
  await until(() => any.clients.size === 1 && verify.clients.size === 1, 'refused clients are gone')
})

t.test('bad input: wrong CA, garbage handshake, corrupted snappy/deflate, silent handshake; nsqd keeps serving', async (t) => {
  const nsqd = await tlsNode(t)
  // the client does not trust the server certificate
  let c = await LayeredConn.connect(t, nsqd.tcpAddress)
  await c.identify({ tls_v1: true })
  let err: unknown = null
  try { await c.startTls({ ca: certs.rogueCert }) } catch (e) { err = e }
  t.match(String(err), /certificate|self.signed|verify/i, 'the client rejects a certificate it cannot verify')
  c.raw.destroy()

  // garbage where the ClientHello should be
  c = await LayeredConn.connect(t, nsqd.tcpAddress)
  await c.identify({ tls_v1: true })
  c.raw.write(Buffer.from('this is not a TLS handshake at all\n'))
  await c.waitClosed()
  t.pass('garbage instead of a handshake: closed')

  // corrupted compressed streams: closed without a frame
  for (const [kind, garbage] of [
    ['snappy', Buffer.concat([SNAPPY_STREAM_IDENTIFIER, Buffer.from([0x01, 0x09, 0x00, 0x00, 1, 2, 3, 4, 0x4e, 0x4f, 0x50, 0x0a, 0x00])])],
    ['snappy', Buffer.from('NOP\n')],
    ['deflate', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]
  ] as const) {
    const l = await LayeredConn.connect(t, nsqd.tcpAddress)
    await l.identify({ [kind]: true })
    l.startCompression(kind)
    t.equal(await l.response(), 'OK')
    l.raw.write(garbage)
    await l.waitClosed()
    t.pass(`${kind}: corrupted stream closes the connection`)
  }

  // a client that never starts the handshake is dropped at the deadline (read timeout here: 2 × 1 s)
  c = await LayeredConn.connect(t, nsqd.tcpAddress)
  await c.identify({ tls_v1: true })
  await c.waitClosed(8000)
  t.pass('silent TLS client dropped')

  await until(() => nsqd.clients.size === 0, 'no client left behind')
  const ok = await RawConn.connect(t, nsqd.tcpAddress)
  ok.write(cmd.pub(uniq(), 'alive'))
  t.equal(await ok.response(), 'OK', 'nsqd still serves')
})

t.test('start-up errors: missing or invalid certificate, bad --tls-min-version, TLS required without a certificate', async (t) => {
  const bad: Array<[Partial<Options>, RegExp]> = [
    [{ tlsCert: certs.dir + '/nope.pem', tlsKey: certs.keyFile }, /failed to load --tls-cert/],
    [{ tlsCert: certs.caFile, tlsKey: certs.keyFile }, /failed to load TLS certificate\/key/],
    [{ tlsCert: certs.certFile, tlsKey: certs.keyFile, tlsMinVersion: 'ssl3' }, /--tls-min-version/],
    [{ tlsRequired: 1 }, /cannot require TLS client connections without TLS key and cert/]
  ]
  for (const [opts, re] of bad) t.throws(() => new NSQD({ tcpAddress: '127.0.0.1:0', httpAddress: '', ...opts }), re)
})

t.test('HTTPS listener serves the same API; plain HTTP gets TLS_REQUIRED with the real https_port', async (t) => {
  const nsqd = await tlsNode(t, { tlsRequired: 2 })
  const get = async (url: string, ca?: Buffer): Promise<{ status: number, body: string }> => await new Promise((resolve, reject) => {
    const mod = url.startsWith('https') ? https : http
    const req = mod.get(url, ca !== undefined ? { ca, agent: false } : { agent: false }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (d: Buffer) => parts.push(d))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() }) })
    })
    req.on('error', reject)
  })
  const port = nsqd.httpsAddress.slice(nsqd.httpsAddress.lastIndexOf(':') + 1)
  const ok = await get(`https://localhost:${port}/ping`, certs.ca)
  t.same(ok, { status: 200, body: 'OK' })
  const info = await get(`https://localhost:${port}/info`, certs.ca)
  t.equal(JSON.parse(info.body).version, '1.3.0')
  const plain = await get(`http://${nsqd.httpAddress}/ping`)
  t.equal(plain.status, 403)
  t.equal(plain.body, `{"message": "TLS_REQUIRED", "https_port": ${port}}`)

  const tcpHttps = await tlsNode(t, { tlsRequired: 1 })
  t.same(await get(`http://${tcpHttps.httpAddress}/ping`), { status: 200, body: 'OK' }, 'tcp-https leaves plain HTTP open')
})

t.test('TLS handshake deadline: 5 s for a stalled handshake (ClientHello never completed)', async (t) => {
  const nsqd = await tlsNode(t)
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  // heartbeats off, so only the handshake deadline can end this connection
  c.write(cmd.identify({ feature_negotiation: true, tls_v1: true, heartbeat_interval: -1 }))
  t.equal(JSON.parse(await c.response()).tls_v1, true)
  c.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40]))
  const start = Date.now()
  await c.waitClosed(8000)
  t.ok(Date.now() - start >= 4500, `closed after ${Date.now() - start} ms`)
  await until(() => nsqd.clients.size === 0, 'client gone')
})

t.test('a 5 MB MPUB through TLS + snappy arrives whole', async (t) => {
  const nsqd = await tlsNode(t)
  const c = await LayeredConn.connect(t, nsqd.tcpAddress)
  await c.identify({ tls_v1: true, snappy: true })
  await c.startTls({ ca: certs.ca })
  t.equal(await c.response(), 'OK')
  c.startCompression('snappy')
  t.equal(await c.response(), 'OK')
  const topic = uniq()
  const bodies = Array.from({ length: 50 }, () => crypto.randomBytes(100 * 1024))
  c.write(cmd.mpub(topic, bodies))
  t.equal(await c.response(), 'OK')
  t.equal(nsqd.getExistingTopic(topic)!.messageCount, 50)
})
