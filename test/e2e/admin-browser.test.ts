// nsqadmin in a real headless Chromium (playwright-core driving Debian's /usr/bin/chromium)
// against an in-process nsqlookupd and two nsqd nodes: the topics page shows a topic published
// during the test and its depth changing live; Pause on the topic page reaches nsqd; a channel is
// emptied and deleted from its page; a stopped node goes missing on the nodes page; a non-admin
// gets a clear refusal; messages are peeked on a channel and a dead-letter topic and replayed (a
// viewer may peek, not replay); the channel and topic pages show delivery policies and
// bounded-queue caps with their counters. Screenshots of every page go to test-artifacts/admin/.

import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { hashPassword } from '../../admin/auth.js'
import { publishMany, startAdmin, startLookupd, startNode, until } from '../helpers/admin-cluster.js'
import { RawConn, uniq } from '../helpers/nsqd.js'
import * as cmd from '../../client/wire/commands.js'
import { Consumer, silentLogger } from '../../client/index.js'
import { CHROMIUM, hasChromium, launchChromium } from '../helpers/browser.js'

const ARTIFACTS = path.resolve('test-artifacts', 'admin')

if (!hasChromium()) {
  t.plan(0, `skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`)
} else {
  await run()
}

async function run (): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true })
  const browser = await launchChromium(t)

  const lookupd = await startLookupd(t)
  const a = await startNode(t, [lookupd])
  const b = await startNode(t, [lookupd])
  const admin = await startAdmin(t, { lookupdHttpAddresses: [lookupd.httpAddress.address], historyIntervalMs: 250 })
  const base = `http://${admin.httpAddress.address}`
  const topic = uniq('orders')

  const ctx = await browser.newContext({ viewport: { width: 1366, height: 860 } })
  const page = await ctx.newPage()
  const pageErrors: string[] = []
  page.on('pageerror', (err) => { pageErrors.push(err.message) })
  // API 404s are part of the test (unknown topic, deleted channel); static assets must all load
  page.on('console', (msg) => { if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) pageErrors.push(msg.text()) })
  page.on('response', (res) => { if (res.status() >= 400 && !new URL(res.url()).pathname.includes('/api/')) pageErrors.push(`${res.status()} ${res.url()}`) })
  const shot = async (name: string): Promise<void> => {
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true })
  }
  const stats = async (httpAddress: string): Promise<any> => await (await fetch(`http://${httpAddress}/stats?format=json&topic=${topic}`)).json()

  await t.test('topics page shows a topic published during the test and its depth changing', async (t) => {
    await page.goto(`${base}/`)
    await page.waitForSelector('#live.live-on')
    for (const n of [a, b]) {
      await fetch(`http://${n.httpAddress}/topic/create?topic=${topic}`, { method: 'POST' })
      await fetch(`http://${n.httpAddress}/channel/create?topic=${topic}&channel=archive`, { method: 'POST' })
      await fetch(`http://${n.httpAddress}/channel/create?topic=${topic}&channel=billing`, { method: 'POST' })
    }
    // six batches, one per history sample, so the charts get a shape
    for (let batch = 0; batch < 6; batch++) {
      const samples = admin.sampler.history.size
      const lines = Array.from({ length: 200 }, (_, i) => `hello ${batch}/${i}`)
      await publishMany(a.httpAddress, topic, lines.slice(0, 133 + (batch % 2)))
      await publishMany(b.httpAddress, topic, lines.slice(133 + (batch % 2)))
      await until(() => admin.sampler.history.size > samples, 'next history sample')
    }
    const row = page.locator(`#topics-table tr[data-topic="${topic}"]`)
    await row.waitFor({ timeout: 10_000 })
    const depthCell = row.locator('td').nth(2)
    await until(async () => (await depthCell.getAttribute('title')) === '2400', 'channel depth 2400 shown', 10_000)
    t.equal(await depthCell.textContent(), '2.4k', 'depth formatted for people')
    await publishMany(a.httpAddress, topic, Array.from({ length: 100 }, (_, i) => `more ${i}`))
    await until(async () => (await depthCell.getAttribute('title')) === '2600', 'depth updated live, no reload', 10_000)
    t.pass('depth changed on the open page')
    await until(async () => await page.locator('.chart-empty').first().isHidden(), 'charts have samples', 10_000)
    await shot('01-topics')
  })

  await t.test('topic page: Pause asks for confirmation and nsqd then reports the topic paused', async (t) => {
    await page.click(`#topics-table tr[data-topic="${topic}"] a`)
    await page.waitForSelector('#topic-nodes')
    t.equal(await page.locator('#topic-nodes tbody tr[data-node]').count(), 2, 'one row per nsqd')
    await page.click('#btn-pause')
    await page.waitForSelector('dialog#confirm[open]')
    t.match(await page.locator('#confirm-text').textContent(), new RegExp(`Pause topic "${topic}"`))
    await shot('02-confirm-dialog')
    await page.click('#confirm-ok')
    await page.waitForSelector('#btn-unpause')
    t.equal((await stats(a.httpAddress)).topics[0].paused, true, 'nsqd a reports paused')
    t.equal((await stats(b.httpAddress)).topics[0].paused, true, 'nsqd b reports paused')
    await page.waitForSelector('h1 .badge-warn')
    await shot('03-topic-paused')
    await page.click('#btn-unpause')
    await page.click('#confirm-ok')
    await page.waitForSelector('#btn-pause')
    t.equal((await stats(a.httpAddress)).topics[0].paused, false, 'unpaused again')
    await shot('03b-topic')
  })

  await t.test('channel page shows clients; Empty and Delete work on a channel', async (t) => {
    const consumer = new Consumer({ logger: silentLogger, topic, channel: 'billing', nsqdTcpAddresses: [a.nsqd.tcpAddress, b.nsqd.tcpAddress], maxInFlight: 8 })
    t.teardown(() => consumer.close())
    let handled = 0
    consumer.handle(async () => { handled++ })
    await consumer.connect()
    await until(() => handled > 10, 'consumer receiving')
    await page.goto(`${base}/topics/${topic}/billing`)
    await page.waitForSelector('#channel-clients tbody tr')
    t.equal(await page.locator('#channel-clients tbody tr').count(), 2, 'one client connection per nsqd')
    await shot('04-channel-with-clients')

    await page.goto(`${base}/topics/${topic}/archive`)
    await page.waitForSelector('#channel-nodes')
    const total = page.locator('#channel-nodes tr.total td').nth(1)
    await until(async () => (await total.getAttribute('title')) === '1300', 'archive depth 1300', 10_000)
    await page.click('#btn-empty')
    await page.click('#confirm-ok')
    await until(async () => (await total.getAttribute('title')) === '0', 'archive emptied', 10_000)
    const ch = (await stats(a.httpAddress)).topics[0].channels.find((c: any) => c.channel_name === 'archive')
    t.equal(ch.depth, 0, 'nsqd reports the channel empty')
    await page.waitForSelector('.flash-success')
    await shot('05-channel-emptied')
    await page.click('#btn-delete')
    await page.click('#confirm-ok')
    await page.waitForURL(`${base}/topics/${topic}`)
    await page.waitForSelector('#topic-channels')
    t.equal(await page.locator('#topic-channels tr[data-channel="archive"]').count(), 0, 'gone from the topic page')
    for (const n of [a, b]) {
      t.notOk((await stats(n.httpAddress)).topics[0].channels.some((c: any) => c.channel_name === 'archive'), 'deleted on nsqd')
    }
    await shot('06-topic-after-channel-delete')
  })

  await t.test('channel and topic pages show the delivery policies, queue caps and their counters', async (t) => {
    const pay = uniq('payments')
    const post = async (n: { httpAddress: string }, path: string, body?: string): Promise<void> => {
      const r = await fetch(`http://${n.httpAddress}${path}`, { method: 'POST', body })
      t.equal(r.status, 200, `${path} ${await r.text()}`)
    }
    for (const n of [a, b]) {
      await post(n, `/topic/create?topic=${pay}`)
      await post(n, `/channel/create?topic=${pay}&channel=worker`)
      await post(n, `/topic/config?topic=${pay}`, JSON.stringify({ max_queue_bytes: 1048576 }))
      await post(n, `/channel/config?topic=${pay}&channel=worker`, JSON.stringify({ max_attempts: 1, message_ttl_ms: 3600000, max_queue_messages: 3, queue_full_policy: 'drop-oldest' }))
    }
    // node a: five messages into a channel capped at three drop the two oldest; one REQ dead-letters
    await publishMany(a.httpAddress, pay, ['p0', 'p1', 'p2', 'p3', 'p4'])
    const c = await RawConn.connect(t, a.nsqd.tcpAddress)
    await c.identify()
    await c.subscribe(pay, 'worker', 1)
    const first = await c.message(5000)
    c.write(cmd.req(first.id, 0))
    for (let i = 0; i < 2; i++) c.write(cmd.fin((await c.message(5000)).id))
    await until(() => a.nsqd.getExistingTopic(pay)?.getExistingChannel('worker')?.deadLetterCount === 1, 'a dead letter')

    await page.goto(`${base}/topics/${pay}/worker`)
    await page.waitForSelector('#channel-policies')
    t.equal(await page.locator('#channel-policies tbody tr[data-node]').count(), 2, 'one row per nsqd')
    const total = page.locator('#channel-policies tr.total td')
    await until(async () => (await total.nth(6).getAttribute('title')) === '1', 'dead letters 1', 10_000)
    t.equal(await total.nth(1).textContent(), '1', 'max attempts')
    t.equal(await total.nth(2).textContent(), `${pay}.dead`, 'dead-letter topic')
    t.equal(await total.nth(3).textContent(), '1h 0m', 'message TTL')
    t.equal(await total.nth(4).textContent(), '3 msgs · 1.0 MB · drop-oldest', 'queue cap (a channel key, then the topic default)')
    t.equal(await total.nth(8).getAttribute('title'), '2', 'dropped because full')
    const fits = await page.evaluate(() => { const card = (globalThis as any).document.querySelector('#channel-policies').closest('.card'); return [card.scrollWidth as number, card.clientWidth as number] })
    t.ok(fits[0]! <= fits[1]!, `the policy table fits its card at 1366 px, no sideways scrolling (${fits.join(' <= ')})`)
    await shot('25-channel-policies')
    await page.click(`#channel-policies tr.total a`)
    await page.waitForURL(`${base}/topics/${pay}.dead`)
    await page.goto(`${base}/topics/${pay}`)
    await page.waitForSelector('#topic-policies')
    t.equal(await page.locator('#topic-policies tr.total td').nth(1).textContent(), '1.0 MB · refuse', 'the topic\'s own cap')
    t.equal(await page.locator('#topic-channels tr[data-channel="worker"] td.policy-summary').textContent(),
      'max 1 · ttl 1h 0m · cap 3 msgs / 1.0 MB drop-oldest · 1 dead · 2 dropped', 'the channel list sums up each channel\'s policies')
    await shot('26-topic-policies')
    await page.goto(`${base}/topics/${topic}/billing`)
    await page.waitForSelector('#channel-nodes')
    t.equal(await page.locator('#channel-policies').count(), 0, 'no policy section where none is set')
  })

  await t.test('node, lookup and counter pages render', async (t) => {
    await page.goto(`${base}/nodes/${a.node}`)
    await page.waitForSelector('#node-topics')
    await until(async () => await page.locator('.chart-empty').first().isHidden(), 'node charts', 10_000)
    await shot('07-node')
    await page.goto(`${base}/lookup`)
    await page.fill('#create-topic', 'created_from_ui')
    await page.fill('#create-channel', 'first')
    await page.click('#create-form button[type=submit]')
    await page.click('#confirm-ok')
    await page.waitForSelector('#inactive-list')
    t.match(await page.locator('#inactive-list').textContent(), /created_from_ui/)
    await shot('08-lookup')
    await page.goto(`${base}/counter`)
    await until(async () => /\d/.test(await page.locator('#counter-value').textContent() ?? ''), 'counter value', 10_000)
    await shot('09-counter')
    await page.goto(`${base}/topics/no_such_topic`)
    await page.waitForSelector('.page-error')
    t.match(await page.locator('.page-error').textContent(), /does not exist/)
    await shot('10-unknown-topic')
  })

  await t.test('peek (channel and dead-letter topic, text / JSON / hex) and replay of selected rows and of the rest; a viewer may peek, not replay', async (t) => {
    const origin = uniq('pay')
    const dead = `${origin}.dead`
    const post = async (addr: string, p: string, body?: string): Promise<void> => {
      const res = await fetch(`http://${addr}${p}`, { method: 'POST', body })
      if (res.status !== 200) throw new Error(`${p} answered ${res.status}`)
    }
    for (const n of [a, b]) {
      await post(n.httpAddress, `/topic/create?topic=${origin}`)
      await post(n.httpAddress, `/channel/create?topic=${origin}&channel=work`)
    }
    await post(a.httpAddress, `/pub?topic=${origin}`, '{"order":17,"amount":"12.50","currency":"EUR"}')
    await post(a.httpAddress, `/pub?topic=${origin}`, 'plain text order 18')
    await page.goto(`${base}/topics/${origin}/work`)
    await page.click('#btn-peek')
    await page.waitForSelector('#peek-table tbody tr')
    t.equal(await page.locator('#peek-table tbody tr').count(), 2, 'both queued messages listed')
    t.match(await page.locator('#peek-table').textContent(), /plain text order 18/, 'body shown as text')
    await page.selectOption('#peek-view', 'json')
    t.match(await page.locator('#peek-table tbody tr').first().locator('pre').textContent(), /\{\n {2}"order": 17,/, 'JSON pretty-printed')
    await shot('19-channel-peek-json')
    await page.selectOption('#peek-view', 'hex')
    t.match(await page.locator('#peek-table tbody tr').nth(1).locator('pre').textContent(), /^000000 {2}70 6c 61 69 6e 20 74 65 78 74/, 'hex dump')
    await shot('20-channel-peek-hex')
    const depth = async (n: typeof a, tp: string, ch?: string): Promise<number> => {
      const path = ch === undefined ? `/topic/peek?topic=${tp}` : `/channel/peek?topic=${tp}&channel=${ch}`
      return ((await (await fetch(`http://${n.httpAddress}${path}`)).json()) as { depth: number }).depth
    }
    t.equal(await depth(a, origin, 'work'), 2, 'peeking consumed nothing')

    // dead letters on both nodes, as a dead-letter topic holds them (no channels)
    await post(a.httpAddress, `/mpub?topic=${dead}`, 'dead a1\ndead a2\ndead a3')
    await post(b.httpAddress, `/mpub?topic=${dead}`, 'dead b1\ndead b2')
    await page.goto(`${base}/topics/${dead}`)
    await page.click('#btn-peek')
    await page.waitForSelector('#peek-table tbody tr')
    t.equal(await page.locator('#peek-table tbody tr').count(), 5, 'the dead letters of both nodes')
    t.equal(await page.locator('#btn-replay').textContent(), `Replay all to ${origin}`)
    const row = (body: string) => page.locator('#peek-table tbody tr', { hasText: body })
    await row('dead a2').locator('input.peek-select').check()
    await row('dead b1').locator('input.peek-select').check()
    t.equal(await page.locator('#btn-replay').textContent(), `Replay 2 selected to ${origin}`)
    await shot('21-dead-topic-peek-selected')
    await page.click('#btn-replay')
    await page.waitForSelector('dialog#confirm[open]')
    t.match(await page.locator('#confirm-text').textContent(), new RegExp(`Move the 2 selected messages back to topic "${origin}"`))
    await page.click('#confirm-ok')
    await page.waitForSelector(`.flash-success:has-text("Replayed 2 messages to ${origin}")`)
    await until(async () => await page.locator('#peek-table tbody tr').count() === 3, 'the table reloaded', 10_000)
    t.equal(await depth(a, dead) + await depth(b, dead), 3, 'three dead letters left')
    t.equal(await depth(a, origin, 'work'), 3, 'node a: the replayed one reached the origin channel')
    t.equal(await depth(b, origin, 'work'), 1, 'node b: the replayed one reached the origin channel')
    await shot('22-replay-selected-done')

    // a viewer (--users-file) sees the messages but cannot replay them
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsqadmin-users-'))
    t.teardown(() => { fs.rmSync(dir, { recursive: true, force: true }) })
    const usersFile = path.join(dir, 'users')
    fs.writeFileSync(usersFile, `victor:viewer:${await hashPassword('victor-pw')}\n`)
    const locked = await startAdmin(t, { lookupdHttpAddresses: [lookupd.httpAddress.address], usersFile, historyIntervalMs: 250 })
    const vctx = await browser.newContext({ viewport: { width: 1366, height: 860 } })
    t.teardown(() => vctx.close())
    const v = await vctx.newPage()
    await v.goto(`http://${locked.httpAddress.address}/login`)
    await v.fill('#login-user', 'victor')
    await v.fill('#login-password', 'victor-pw')
    await v.click('#login-submit')
    await v.waitForURL(`http://${locked.httpAddress.address}/`)
    await v.goto(`http://${locked.httpAddress.address}/topics/${dead}`)
    await v.click('#btn-peek')
    await v.waitForSelector('#peek-table tbody tr')
    t.equal(await v.locator('#peek-table tbody tr').count(), 3, 'the viewer may peek')
    await v.click('#btn-replay')
    await v.waitForSelector('.flash-error')
    t.match(await v.locator('.flash-error').textContent(), /victor is a viewer/, 'the UI refuses the replay')
    const direct = await v.evaluate(async (url) => {
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': (globalThis as any).NSQADMIN.CSRF_TOKEN }, body: '{}' })
      return [res.status, ((await res.json()) as { message: string }).message]
    }, `http://${locked.httpAddress.address}/api/replay/${dead}`)
    t.same(direct, [403, 'FORBIDDEN'], 'the server refuses the viewer too')
    const noCsrf = await v.evaluate(async (url) => (await fetch(url, { method: 'POST', body: '{}' })).status, `http://${locked.httpAddress.address}/api/replay/${dead}`)
    t.equal(noCsrf, 403, 'and a request without the CSRF token')
    t.equal(await depth(a, dead) + await depth(b, dead), 3, 'nothing moved')
    await v.screenshot({ path: path.join(ARTIFACTS, '23-viewer-peek-no-replay.png'), fullPage: true })

    // the admin replays the rest
    await page.click('#btn-replay')
    await page.click('#confirm-ok')
    await page.waitForSelector(`.flash-success:has-text("Replayed 3 messages to ${origin}")`)
    t.equal(await depth(a, dead) + await depth(b, dead), 0, 'the dead-letter topic is empty')
    t.equal(await depth(a, origin, 'work') + await depth(b, origin, 'work'), 7, 'every message in the origin once')
    await page.waitForSelector('#peek-results .empty')
    await shot('24-replay-all-done')
  })

  await t.test('nodes page: a stopped node goes missing', async (t) => {
    await page.goto(`${base}/nodes`)
    await page.waitForSelector('#nodes-table')
    t.equal(await page.locator('#nodes-table tbody tr').count(), 2)
    await shot('11-nodes')
    await b.stop()
    await page.waitForSelector(`#missing-table tr[data-node="${b.node}"]`, { timeout: 10_000 })
    t.equal(await page.locator('#nodes-table tbody tr').count(), 1, 'only the live node remains listed')
    t.match(await page.locator('#missing-table').textContent(), /missing/)
    await shot('12-nodes-one-missing')
  })

  await t.test('non-admins get a clear refusal', async (t) => {
    const guarded = await startAdmin(t, { lookupdHttpAddresses: [lookupd.httpAddress.address], adminUsers: ['alice'], historyIntervalMs: 250 })
    await page.goto(`http://${guarded.httpAddress.address}/topics/${topic}`)
    await page.click('#btn-pause')
    await page.waitForSelector('.flash-error')
    t.match(await page.locator('.flash-error').textContent(), /Permission denied/)
    t.equal((await stats(a.httpAddress)).topics[0].paused, false, 'nothing paused')
    await shot('13-non-admin-denied')
  })

  await t.test('login (--users-file): the sign-in page, a viewer refused, an admin acts, sign out', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsqadmin-users-'))
    t.teardown(() => { fs.rmSync(dir, { recursive: true, force: true }) })
    const usersFile = path.join(dir, 'users')
    fs.writeFileSync(usersFile, `alice:admin:${await hashPassword('alice-pw')}\nvictor:viewer:${await hashPassword('victor-pw')}\n`)
    const locked = await startAdmin(t, { lookupdHttpAddresses: [lookupd.httpAddress.address], usersFile, historyIntervalMs: 250 })
    const lbase = `http://${locked.httpAddress.address}`
    const lctx = await browser.newContext({ viewport: { width: 1366, height: 860 } })
    t.teardown(() => lctx.close())
    const p = await lctx.newPage()
    const errors: string[] = []
    p.on('pageerror', (err) => { errors.push(err.message) })
    const signIn = async (user: string, password: string): Promise<void> => {
      await p.fill('#login-user', user)
      await p.fill('#login-password', password)
      await p.click('#login-submit')
    }

    await p.goto(`${lbase}/topics/${topic}`)
    await p.waitForURL(`${lbase}/login`)
    await p.waitForSelector('#login-form')
    await p.screenshot({ path: path.join(ARTIFACTS, '14-login.png'), fullPage: true })
    await signIn('victor', 'wrong')
    await p.waitForSelector('#login-error:not([hidden])')
    t.match(await p.locator('#login-error').textContent(), /Wrong user name or password/)
    await signIn('victor', 'victor-pw')
    await p.waitForURL(`${lbase}/`)
    t.match(await p.locator('#session-user').textContent(), /victor \(viewer\)/)
    const cookies = await lctx.cookies()
    t.match(cookies.find((c) => c.name === 'nsqadmin_session'), { httpOnly: true, sameSite: 'Strict' }, 'the session cookie is HttpOnly, SameSite=Strict')

    await p.goto(`${lbase}/topics/${topic}`)
    await p.waitForSelector('#btn-pause')
    await p.click('#btn-pause')
    await p.waitForSelector('.flash-error')
    t.match(await p.locator('.flash-error').textContent(), /victor is a viewer/)
    const direct = await p.evaluate(async (url) => {
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': (globalThis as any).NSQADMIN.CSRF_TOKEN }, body: '{"action":"pause"}' })
      return [res.status, ((await res.json()) as { message: string }).message]
    }, `${lbase}/api/topics/${topic}`)
    t.same(direct, [403, 'FORBIDDEN'], 'the server refuses the viewer too')
    t.equal((await stats(a.httpAddress)).topics[0].paused, false, 'nothing paused')
    await p.screenshot({ path: path.join(ARTIFACTS, '15-viewer-refused.png'), fullPage: true })

    await p.click('#logout')
    await p.waitForURL(`${lbase}/login`)
    await signIn('alice', 'alice-pw')
    await p.waitForURL(`${lbase}/`)
    await p.goto(`${lbase}/topics/${topic}`)
    await p.click('#btn-pause')
    await p.click('#confirm-ok')
    await p.waitForSelector('#btn-unpause')
    t.equal((await stats(a.httpAddress)).topics[0].paused, true, 'the admin paused the topic (CSRF token sent by the UI)')
    await p.click('#btn-unpause')
    await p.click('#confirm-ok')
    await p.waitForSelector('#btn-pause')
    t.same(errors, [], 'no script errors')
  })

  await t.test('node page: Drain asks for confirmation, then the node drains and both pages mark it', async (t) => {
    await page.goto(`${base}/nodes/${a.node}`)
    await page.waitForSelector('#btn-drain')
    await page.click('#btn-drain')
    await page.waitForSelector('dialog#confirm[open]')
    t.match(await page.locator('#confirm-text').textContent(), new RegExp(`Drain ${a.node}\\?`))
    await shot('16-drain-confirm')
    await page.click('#confirm-ok')
    await page.waitForSelector('.page-head .badge:has-text("draining")')
    t.equal(a.nsqd.draining, true, 'nsqd is draining')
    t.equal(await page.locator('#btn-drain').count(), 0, 'no Drain button on a draining node')
    await shot('17-node-draining')
    await page.goto(`${base}/nodes`)
    await page.waitForSelector(`#nodes-table tr[data-node="${a.node}"] .badge:has-text("draining")`)
    await shot('18-nodes-draining')
  })

  t.same(pageErrors, [], 'no script errors in the pages')
}
