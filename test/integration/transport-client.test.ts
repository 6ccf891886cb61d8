// Our client library (Producer, Consumer) with TLS (CA and client certificate), snappy, deflate
// and AUTH against our nsqd, through a recording proxy: 100 KB messages, the upgrade proven on the
// wire; and the failures a user sees: a TLS-required node without TLS, an untrusted certificate, a
// missing client certificate, a rejected secret, an auth server that is down.

import t from 'tap'
import type { Test } from 'tap'
import http from 'node:http'
import zlib from 'node:zlib'
import { startNSQD, uniq, until } from '../helpers/nsqd.js'
import { makeCerts } from '../helpers/certs.js'
import { recordingProxy } from '../helpers/transport.js'
import { Producer, Consumer, ProtocolError, NsqClientError, silentLogger } from '../../client/index.js'
import type { ProducerOptions, ConsumerOptions } from '../../client/index.js'
import { SNAPPY_STREAM_IDENTIFIER } from '../../client/wire/snappy-stream.js'

const certs = makeCerts(t)
const quiet = { logger: silentLogger }
const MARKER = 'CLIENT-MARKER-'

function producer (t: Test, addr: string, opts: Partial<ProducerOptions>): Producer {
  const p = new Producer(addr, { ...quiet, retries: 0, ...opts })
  t.teardown(() => p.close())
  return p
}

function consumer (t: Test, opts: Partial<ConsumerOptions<Buffer>>): Consumer<Buffer> {
  const c = new Consumer<Buffer>({ ...quiet, ...opts } as ConsumerOptions<Buffer>)
  t.teardown(() => c.close())
  return c
}

const cases: Array<{ name: string, opts: Partial<ProducerOptions>, after: (t: Test, after: Buffer) => void }> = [
  {
    name: 'tls with a client certificate',
    opts: { tlsV1: true, tlsOptions: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } },
    after: (t, after) => { t.equal(after[0], 0x16, 'TLS record after the plain IDENTIFY response') }
  },
  {
    name: 'snappy',
    opts: { snappy: true },
    after: (t, after) => { t.same(after.subarray(0, 10), SNAPPY_STREAM_IDENTIFIER, 'snappy stream identifier') }
  },
  {
    name: 'deflate',
    opts: { deflate: true, deflateLevel: 5 },
    after: (t, after) => {
      const end = after.indexOf(Buffer.from([0x00, 0x00, 0xff, 0xff])) + 4
      t.equal(zlib.inflateRawSync(after.subarray(0, end), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(8).toString(), 'OK', 'raw deflate')
    }
  },
  {
    name: 'tls + deflate',
    opts: { tlsV1: true, deflate: true, tlsOptions: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } },
    after: (t, after) => { t.equal(after[0], 0x16) }
  }
]

for (const c of cases) {
  t.test(`client ${c.name}: Producer and Consumer, 100 KB messages, proven on the wire`, async (t) => {
    const nsqd = await startNSQD(t, { tlsCert: certs.certFile, tlsKey: certs.keyFile, tlsRootCaFile: certs.caFile, tlsClientAuthPolicy: c.opts.tlsV1 === true ? 'require-verify' : '' })
    const proxy = await recordingProxy(t, nsqd.tcpAddress)
    const topic = uniq()
    const p = producer(t, proxy.addr, c.opts)
    await p.connect()
    const bodies = Array.from({ length: 4 }, (_, i) => Buffer.concat([Buffer.from(`${MARKER}${i}-`), Buffer.alloc(100 * 1024, `body ${i} `)]))
    await p.publish(topic, bodies[0]!)
    await p.publishMany(topic, bodies.slice(1))
    await p.publish(topic, 'small')
    const got: Buffer[] = []
    const k = consumer(t, { topic, channel: 'ch', nsqdTcpAddresses: [proxy.addr], maxInFlight: 10, ...c.opts } as Partial<ConsumerOptions<Buffer>>)
    k.handle((m) => { got.push(m.body) })
    await k.connect()
    await until(() => got.length === 5, 'all messages')
    t.same(got.filter((b) => b.length > 100).sort((a, b) => a.compare(b)), [...bodies].sort((a, b) => a.compare(b)), '100 KB bodies intact')
    await until(() => k.stats().finished === 5, 'all finished')
    t.equal(proxy.conns.length, 2)
    for (const rec of proxy.conns) {
      const all = Buffer.concat(rec.toClient)
      const size = all.readInt32BE(0)
      const resp = JSON.parse(all.subarray(8, 4 + size).toString())
      t.equal(resp.tls_v1, c.opts.tlsV1 === true)
      t.equal(resp.snappy, c.opts.snappy === true)
      t.equal(resp.deflate, c.opts.deflate === true)
      c.after(t, all.subarray(4 + size))
      if (c.name !== 'snappy') {
        t.equal(all.indexOf(MARKER), -1, 'no body in plain text towards the client')
        t.equal(Buffer.concat(rec.toServer).indexOf(MARKER), -1, 'nor towards nsqd')
      }
      if (c.name !== 'tls with a client certificate') t.ok(all.length < 100 * 1024, `compressed (${all.length} bytes)`)
    }
    const layers = [...nsqd.clients.values()].map((x) => [x.client.tls, x.client.snappy, x.client.deflate])
    t.same(layers[0], [c.opts.tlsV1 === true, c.opts.snappy === true, c.opts.deflate === true])
  })
}

t.test('client failures: TLS-required node, untrusted certificate, missing client certificate', async (t) => {
  const nsqd = await startNSQD(t, { tlsCert: certs.certFile, tlsKey: certs.keyFile, tlsRequired: 1 })
  const plain = producer(t, nsqd.tcpAddress, {})
  await t.rejects(plain.publish(uniq(), 'x'), new ProtocolError('E_INVALID', 'cannot PUB in current state (TLS required)'))

  const untrusted = producer(t, nsqd.tcpAddress, { tlsV1: true, tlsOptions: { ca: certs.rogueCert } })
  const err = await untrusted.connect().then(() => null, (e: unknown) => e)
  t.ok(err instanceof NsqClientError, 'connect fails with a client error')
  t.match(String(err), /tls upgrade failed: .*(certificate|verify)/i)

  const verify = await startNSQD(t, { tlsCert: certs.certFile, tlsKey: certs.keyFile, tlsClientAuthPolicy: 'require-verify', tlsRootCaFile: certs.caFile })
  const noCert = producer(t, verify.tcpAddress, { tlsV1: true, tlsOptions: { ca: certs.ca }, handshakeTimeoutMs: 2000 })
  t.ok(await noCert.publish(uniq(), 'x').then(() => false, () => true), 'no client certificate: the publish fails')
  const ok = producer(t, verify.tcpAddress, { tlsV1: true, tlsOptions: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } })
  await ok.publish(uniq(), 'with a certificate')
  await until(() => nsqd.clients.size === 0 && verify.clients.size === 1, 'failed connections are gone')
})

t.test('client AUTH: authSecret, rejected secret, auth server down', async (t) => {
  const server = http.createServer((req, res) => {
    const secret = new URL(req.url ?? '/', 'http://x').searchParams.get('secret')
    if (secret !== 'letmein') { res.writeHead(403); res.end('no'); return }
    res.writeHead(200, { 'Content-Type': 'application/json' })
    res.end(JSON.stringify({ ttl: 60, identity: 'svc', identity_url: '', authorizations: [{ topic: '.*', channels: ['.*'], permissions: ['publish', 'subscribe'] }] }))
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  t.teardown(() => { server.close() })
  const addr = `127.0.0.1:${(server.address() as { port: number }).port}`
  const nsqd = await startNSQD(t, { authHttpAddresses: [addr], tlsCert: certs.certFile, tlsKey: certs.keyFile })
  const topic = uniq()
  const p = producer(t, nsqd.tcpAddress, { authSecret: 'letmein', tlsV1: true, snappy: true, tlsOptions: { ca: certs.ca } })
  await p.publish(topic, 'authed over tls+snappy')
  const got: string[] = []
  const k = consumer(t, { topic, channel: 'c', nsqdTcpAddresses: [nsqd.tcpAddress], authSecret: 'letmein', deflate: true })
  k.handle((m) => { got.push(m.body.toString()) })
  await k.connect()
  await until(() => got.length === 1, 'authed consumer receives')
  t.same(got, ['authed over tls+snappy'])
  const ids = [...nsqd.clients.values()].map((x) => [x.client.authed, x.client.authIdentity])
  t.same(ids, [[true, 'svc'], [true, 'svc']])

  const bad = producer(t, nsqd.tcpAddress, { authSecret: 'wrong' })
  await t.rejects(bad.publish(topic, 'x'), new ProtocolError('E_AUTH_FAILED', 'AUTH failed'))
  const none = producer(t, nsqd.tcpAddress, {})
  t.match(String(await none.connect().then(() => null, (e: unknown) => e)), /requires AUTH but no auth secret/)

  const dead = await startNSQD(t, { authHttpAddresses: ['127.0.0.1:1'], httpClientConnectTimeoutMs: 300 })
  const down = producer(t, dead.tcpAddress, { authSecret: 'letmein' })
  await t.rejects(down.publish(topic, 'x'), new ProtocolError('E_AUTH_FAILED', 'AUTH failed'))
  await until(() => dead.clients.size === 0, 'refused clients are gone')
})
