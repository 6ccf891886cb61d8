// The browser gateway in a real headless Chromium (playwright-core driving Debian's
// /usr/bin/chromium): a page subscribes over WebSocket and over Server-Sent Events to an in-process
// nsqd started with --http-gateway, receives messages published over TCP by nsqjs, finishes some and
// requeues others, and /stats matches; a tab closed mid-flight has its messages delivered to
// another subscriber.

import t from 'tap'
import fs from 'node:fs'
import nsq from 'nsqjs'
import WebSocket from 'ws'
import { startNSQD, uniq, until, hostPort } from '../helpers/nsqd.js'
import { CHROMIUM, hasChromium, launchChromium } from '../helpers/browser.js'

// the page side of page.evaluate (tsconfig has no DOM lib)
declare const window: any
declare const location: { host: string }
declare const EventSource: any


if (!hasChromium()) {
  t.plan(0, `skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`)
} else {
  await run()
}

async function run (): Promise<void> {
  const browser = await launchChromium(t)
  const nsqd = await startNSQD(t, { httpGateway: true, msgTimeoutMs: 500 })
  const base = `http://${nsqd.httpAddress}`
  const { host, port } = hostPort(nsqd.tcpAddress)
  const w = new nsq.Writer(host, port)
  w.connect()
  await new Promise<void>((resolve, reject) => { w.once('ready', () => { resolve() }); w.once('error', reject) })
  t.teardown(() => { w.close() })
  const publish = async (topic: string, bodies: string[]): Promise<void> => {
    await new Promise<void>((resolve, reject) => { w.publish(topic, bodies, (err?: Error) => { if (err) reject(err); else resolve() }) })
  }
  const channelStats = async (topic: string, channel: string): Promise<any> => {
    const doc = await (await fetch(`${base}/stats?format=json&topic=${topic}&channel=${channel}`)).json() as any
    return doc.topics?.[0]?.channels?.[0]
  }
  const ctx = await browser.newContext()

  await t.test('a page subscribes over WebSocket, finishes some messages and requeues others; /stats matches', async (t) => {
    const topic = uniq('web')
    const page = await ctx.newPage()
    t.teardown(() => page.close())
    await page.goto(`${base}/ping`)
    await page.evaluate(({ topic }) => {
      const got: Array<{ body: string, attempts: number }> = []
      ;(window as any).got = got
      const ws = new window.WebSocket(`ws://${location.host}/ws`)
      ws.onopen = () => { ws.send(JSON.stringify({ op: 'sub', topic, channel: 'web', rdy: 10 })) }
      ws.onmessage = (ev: { data: unknown }) => {
        const f = JSON.parse(ev.data as string)
        if (f.type !== 'msg') return
        got.push({ body: f.body, attempts: f.attempts })
        // requeue each "req" message once, finish everything else
        if (f.body.startsWith('req') && f.attempts === 1) ws.send(JSON.stringify({ op: 'req', id: f.id, delay: 0 }))
        else ws.send(JSON.stringify({ op: 'fin', id: f.id }))
      }
    }, { topic })
    await until(async () => (await channelStats(topic, 'web'))?.clients?.length === 1, 'page subscribed', 10_000)
    await publish(topic, ['fin-1', 'req-1', 'fin-2', 'req-2'])
    await until(async () => (await page.evaluate(() => (window as any).got.length)) === 6, 'six deliveries in the page', 10_000)
    const got = await page.evaluate(() => (window as any).got) as Array<{ body: string, attempts: number }>
    t.same(got.filter((m) => m.attempts === 2).map((m) => m.body).sort(), ['req-1', 'req-2'])
    const st = await until(async () => { const s = await channelStats(topic, 'web'); return s.clients[0].finish_count === 4 ? s : null }, 'four FINs', 10_000)
    t.match(st, { depth: 0, in_flight_count: 0, message_count: 4, requeue_count: 2 })
    t.match(st.clients[0], { message_count: 6, finish_count: 4, requeue_count: 2, ready_count: 10, user_agent: /^websocket \(Mozilla/ })
  })

  await t.test('a page subscribes with EventSource and gets multi-line bodies as one event each', async (t) => {
    const topic = uniq('sse')
    const page = await ctx.newPage()
    t.teardown(() => page.close())
    await page.goto(`${base}/ping`)
    await page.evaluate(({ topic }) => {
      const got: Array<{ id: string, data: string }> = []
      ;(window as any).got = got
      const es = new EventSource(`/sse?topic=${topic}&channel=feed`)
      es.onmessage = (ev: { lastEventId: string, data: unknown }) => { got.push({ id: ev.lastEventId, data: ev.data as string }) }
    }, { topic })
    await until(async () => (await channelStats(topic, 'feed'))?.clients?.length === 1, 'EventSource subscribed', 10_000)
    await publish(topic, ['first\nsecond', 'h\u00e9llo'])
    await until(async () => (await page.evaluate(() => (window as any).got.length)) === 2, 'two events', 10_000)
    const got = await page.evaluate(() => (window as any).got) as Array<{ id: string, data: string }>
    t.same(got.map((e) => e.data), ['first\nsecond', 'h\u00e9llo'])
    t.ok(got.every((e) => /^[0-9a-f]{16}$/.test(e.id)), 'lastEventId is the message id')
    const st = await until(async () => { const s = await channelStats(topic, 'feed'); return s.clients[0].finish_count === 2 ? s : null }, 'finished once written', 10_000)
    t.match(st.clients[0], { user_agent: /^sse \(Mozilla/, message_count: 2 })
  })

  await t.test('the typed helper (client/browser/gateway-client.ts) runs in the page as it is', async (t) => {
    // the module has no imports: esbuild only strips its types (an IIFE exposing its exports)
    const { transform } = await import('esbuild')
    const src = fs.readFileSync(new URL('../../client/browser/gateway-client.ts', import.meta.url), 'utf8')
    const js = (await transform(src, { loader: 'ts', format: 'iife', globalName: 'NsqGw', target: 'es2022' })).code
    const topic = uniq('helper')
    const page = await ctx.newPage()
    t.teardown(() => page.close())
    await page.goto(`${base}/ping`)
    await page.addScriptTag({ content: js })
    // a string, not a function: tsx would wrap the named callbacks in a helper the page lacks
    await page.evaluate(`
      window.got = []
      window.client = new window.NsqGw.NsqGatewayClient({
        url: 'ws://' + location.host + '/ws',
        subscribe: { topic: ${JSON.stringify(topic)}, channel: 'page', rdy: 4 },
        onOpen: () => { window.subscribed = true },
        onMessage: (m) => { window.got.push(m.body); m.finish() }
      })
    `)
    await until(async () => await page.evaluate(() => (window as any).subscribed === true), 'helper subscribed', 10_000)
    await publish(topic, ['from tcp'])
    await page.evaluate(async ({ topic }) => { await (window as any).client.publish(topic, ['from page 1', 'from page 2']) }, { topic })
    await until(async () => (await page.evaluate(() => (window as any).got.length)) === 3, 'three messages in the page', 10_000)
    t.same((await page.evaluate(() => (window as any).got)).sort(), ['from page 1', 'from page 2', 'from tcp'])
    const st = await until(async () => { const s = await channelStats(topic, 'page'); return s.clients[0].finish_count === 3 ? s : null }, 'three FINs from the page', 10_000)
    t.match(st.clients[0], { ready_count: 4, user_agent: /^websocket \(Mozilla/ })
  })

  await t.test('a tab closed mid-flight: its messages are delivered to another subscriber', async (t) => {
    const topic = uniq('tab')
    const page = await ctx.newPage()
    await page.goto(`${base}/ping`)
    await page.evaluate(({ topic }) => {
      ;(window as any).n = 0
      const ws = new window.WebSocket(`ws://${location.host}/ws`)
      ws.onopen = () => { ws.send(JSON.stringify({ op: 'sub', topic, channel: 'shared', rdy: 10 })) }
      ws.onmessage = (ev: { data: unknown }) => { if (JSON.parse(ev.data as string).type === 'msg') (window as any).n++ }
    }, { topic })
    await until(async () => (await channelStats(topic, 'shared'))?.clients?.length === 1, 'tab subscribed', 10_000)
    await publish(topic, ['m1', 'm2', 'm3'])
    await until(async () => (await page.evaluate(() => (window as any).n)) === 3, 'three in flight to the tab', 10_000)
    await page.close()
    const other = new WebSocket(`${base.replace('http', 'ws')}/ws`)
    t.teardown(() => { other.terminate() })
    const again: Array<{ body: string, attempts: number }> = []
    other.on('message', (d) => { const f = JSON.parse(d.toString()); if (f.type === 'msg') again.push(f) })
    await new Promise<void>((resolve) => { other.once('open', () => { resolve() }) })
    other.send(JSON.stringify({ op: 'sub', topic, channel: 'shared', rdy: 10 }))
    await until(() => again.length === 3, 'redelivered to the other subscriber', 10_000)
    t.same(again.map((m) => m.body).sort(), ['m1', 'm2', 'm3'])
    t.ok(again.every((m) => m.attempts === 2))
  })
}

