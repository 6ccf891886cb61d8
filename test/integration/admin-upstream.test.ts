// nsqadmin when upstreams misbehave: a dead lookupd, a hung nsqd, an address that is not a
// lookupd at all, every host down; plus start-up validation, the static page (base path, vendored
// chart library, no traversal) and the binary's start line.

import t from 'tap'
import net from 'node:net'
import { spawn } from 'node:child_process'
import Fastify from 'fastify'
import type { AddressInfo } from 'node:net'
import { publish, startAdmin, startLookupd, startNode, until } from '../helpers/admin-cluster.js'
import { uniq } from '../helpers/nsqd.js'
import { NSQAdmin } from '../../admin/nsqadmin.js'

async function get (admin: NSQAdmin, url: string): Promise<{ status: number, json: any, body: string, type: string }> {
  const res = await admin.httpServer.inject({ method: 'GET', url })
  let json: any = null
  try { json = JSON.parse(res.body) } catch {}
  return { status: res.statusCode, json, body: res.body, type: String(res.headers['content-type']) }
}

/** A TCP server that accepts and never answers (a hung node). */
async function hungServer (t: { teardown (fn: () => unknown): void }): Promise<string> {
  const socks: net.Socket[] = []
  const srv = net.createServer((s) => { socks.push(s) })
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of socks) s.destroy(); srv.close() })
  return `127.0.0.1:${(srv.address() as AddressInfo).port}`
}

/** A port nobody listens on. */
async function deadAddress (): Promise<string> {
  const srv = net.createServer()
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const port = (srv.address() as AddressInfo).port
  await new Promise<void>((resolve) => srv.close(() => resolve()))
  return `127.0.0.1:${port}`
}

t.test('a dead lookupd gives a partial answer with its error; all dead gives 502', async (t) => {
  const lookupd = await startLookupd(t)
  const a = await startNode(t, [lookupd])
  const topic = uniq('p')
  await publish(a.httpAddress, topic, 'x')
  const dead = await deadAddress()
  const admin = await startAdmin(t, { lookupdHttpAddresses: [lookupd.httpAddress.address, dead] })
  await until(async () => (await get(admin, `/api/topics/${topic}`)).json.nodes?.length === 1, 'registered')
  for (const url of ['/api/topics', `/api/topics/${topic}`, '/api/nodes', '/api/counter', '/api/topics?stats=true']) {
    const r = await get(admin, url)
    t.equal(r.status, 200, `${url} still answers`)
    t.match(r.json.message, /^WARNING: /, `${url} warns`)
    t.ok(r.json.errors.some((e: any) => e.kind === 'lookupd' && e.address === dead && /refused/.test(e.error)), `${url} names the dead lookupd`)
  }
  const onlyDead = await startAdmin(t, { lookupdHttpAddresses: [dead] })
  const r = await get(onlyDead, '/api/topics')
  t.equal(r.status, 502)
  t.match(r.json.message, /^UPSTREAM_ERROR: GET http:\/\/127\.0\.0\.1:\d+\/topics: connection refused/)
  t.equal(r.json.errors.length, 1)
})

t.test('a hung nsqd times out into a per-node error instead of hanging the page', async (t) => {
  const a = await startNode(t, [])
  const topic = uniq('slow')
  await publish(a.httpAddress, topic, 'x')
  const hung = await hungServer(t)
  const admin = await startAdmin(t, { nsqdHttpAddresses: [a.httpAddress, hung], httpClientRequestTimeoutMs: 300 })
  const started = Date.now()
  const r = await get(admin, '/api/topics?stats=true')
  const took = Date.now() - started
  t.equal(r.status, 200)
  t.ok(took < 2000, `answered in ${took}ms`)
  t.ok(r.json.topics.some((x: any) => x.topic_name === topic), 'the healthy node is in the answer')
  t.ok(r.json.errors.some((e: any) => e.address === hung && /timed out after 300ms/.test(e.error)), 'the hung node is reported')
  const top = await get(admin, `/api/topics/${topic}`)
  t.equal(top.status, 200)
  t.equal(top.json.nodes.length, 1)
  const nodes = await get(admin, '/api/nodes')
  t.equal(nodes.json.nodes.length, 1)
  t.match(nodes.json.message, /timed out/)
})

t.test('a "lookupd" address that is not a lookupd is reported as such', async (t) => {
  const a = await startNode(t, [])
  const html = Fastify()
  html.get('/*', async (_req, reply) => reply.type('text/html').send('<html><body>hello</body></html>'))
  await html.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => html.close())
  const htmlAddr = `127.0.0.1:${(html.server.address() as AddressInfo).port}`

  const wrong = await startAdmin(t, { lookupdHttpAddresses: [a.httpAddress] })
  let r = await get(wrong, '/api/topics')
  t.equal(r.status, 502)
  t.match(r.json.message, new RegExp(`UPSTREAM_ERROR: GET http://${a.httpAddress}/topics: got response 404`))
  r = await get(wrong, '/api/nodes')
  t.equal(r.status, 502)

  const web = await startAdmin(t, { lookupdHttpAddresses: [htmlAddr] })
  r = await get(web, '/api/topics')
  t.equal(r.status, 502)
  t.match(r.json.message, /response is not JSON/)
  // the page itself still loads, and shows the error from the API
  const page = await get(web, '/')
  t.equal(page.status, 200)
  t.match(page.type, /text\/html/)
})

t.test('a node lookupd lists but that is down shows up as that node\'s error', async (t) => {
  const a = await startNode(t, [])
  const topic = uniq('half')
  await publish(a.httpAddress, topic, 'x')
  const dead = await deadAddress()
  const port = (addr: string): number => Number(addr.slice(addr.lastIndexOf(':') + 1))
  const peer = (addr: string, host: string): Record<string, unknown> => ({ remote_address: '127.0.0.1:1', hostname: host, broadcast_address: '127.0.0.1', tcp_port: port(addr) + 1, http_port: port(addr), version: '1.3.0' })
  const fake = Fastify()
  fake.get('/lookup', async () => ({ channels: [], producers: [peer(a.httpAddress, 'alive'), peer(dead, 'gone')] }))
  fake.get('/topics', async () => ({ topics: [topic] }))
  fake.get('/nodes', async () => ({ producers: [{ ...peer(a.httpAddress, 'alive'), topics: [topic], tombstones: [false] }, { ...peer(dead, 'gone'), topics: [topic], tombstones: [false] }] }))
  await fake.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => fake.close())
  const admin = await startAdmin(t, { lookupdHttpAddresses: [`127.0.0.1:${(fake.server.address() as AddressInfo).port}`] })
  const r = await get(admin, `/api/topics/${topic}`)
  t.equal(r.status, 200)
  t.equal(r.json.nodes.length, 1)
  t.equal(r.json.errors.length, 1)
  t.equal(r.json.errors[0].kind, 'nsqd')
  t.equal(r.json.errors[0].address, dead)
  const node = await get(admin, `/api/nodes/${dead}`)
  t.equal(node.status, 502, 'the node page of a dead node says why')
  t.match(node.json.message, /UPSTREAM_ERROR: .*refused/)
})

t.test('start-up validation names the flag', async (t) => {
  t.throws(() => new NSQAdmin({}), /--nsqd-http-address or --lookupd-http-address required/)
  t.throws(() => new NSQAdmin({ lookupdHttpAddresses: ['a:1'], nsqdHttpAddresses: ['b:2'] }), /use --nsqd-http-address or --lookupd-http-address not both/)
  t.throws(() => new NSQAdmin({ lookupdHttpAddresses: ['http://x:4161'] }), /--lookupd-http-address must be <addr>:<port> without a scheme/)
  t.throws(() => new NSQAdmin({ lookupdHttpAddresses: ['nohost'] }), /--lookupd-http-address must be <addr>:<port>/)
  t.throws(() => new NSQAdmin({ lookupdHttpAddresses: ['a:1'], notificationHttpEndpoint: 'nope' }), /--notification-http-endpoint/)
})

t.test('the page: bootstrap, base path, vendored uPlot, no traversal, /ping', async (t) => {
  const admin = await startAdmin(t, { lookupdHttpAddresses: ['127.0.0.1:4161'], basePath: '/ops/admin/' })
  const page = await get(admin, '/ops/admin/topics/some_topic')
  t.equal(page.status, 200)
  t.match(page.body, /window\.NSQADMIN = \{/)
  t.match(page.body, /"BASE_PATH":"\/ops\/admin"/)
  t.match(page.body, /"IS_ADMIN":true/)
  t.match(page.body, /src="\/ops\/admin\/static\/vendor\/uPlot\.iife\.min\.js"/)
  t.notMatch(page.body, /https?:\/\/(?!127)/, 'no external URLs (no CDN)')
  const js = await get(admin, '/ops/admin/static/vendor/uPlot.iife.min.js')
  t.equal(js.status, 200)
  t.match(js.type, /javascript/)
  t.ok(js.body.length > 10000)
  t.equal((await get(admin, '/ops/admin/static/js/app.js')).status, 200)
  t.equal((await get(admin, '/ops/admin/static/app.css')).status, 200)
  t.equal((await get(admin, '/ops/admin/static/../options.ts')).status, 404)
  t.equal((await get(admin, '/ops/admin/static/%2e%2e/options.ts')).status, 404)
  t.equal((await get(admin, '/ops/admin/ping')).body, 'OK')
  t.equal((await get(admin, '/topics')).status, 404, 'nothing outside the base path')
})

t.test('the nsqadmin binary prints its listening line and stops on SIGTERM', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'admin/main.ts', '-http-address', '127.0.0.1:0', '--lookupd-http-address=127.0.0.1:4161', '--history-interval', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { child.kill('SIGKILL') })
  let out = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  await until(() => /nsqadmin listening http=127\.0\.0\.1:\d+\n/.test(out), 'listening line', 15000)
  const addr = /http=(\S+)/.exec(out)![1]
  const res = await fetch(`http://${addr}/ping`)
  t.equal(await res.text(), 'OK')
  const code = await new Promise<number | null>((resolve) => { child.on('exit', resolve); child.kill('SIGTERM') })
  t.equal(code, 0)
})
