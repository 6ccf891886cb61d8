// A real cluster: 2 nsqlookupd and 3 nsqd as separate processes on free ports.

import t from 'tap'
import nsq from 'nsqjs'
import type * as Nsq from 'nsqjs'
import { spawnDaemon, getJson, type Daemon } from '../helpers/procs.js'
import { tmpDir, until, uniq } from '../helpers/nsqd.js'

const producers = async (lookupd: Daemon, topic: string): Promise<string[]> => {
  const r = await getJson(`http://${lookupd.http}/lookup?topic=${topic}`)
  return ((r?.producers ?? []) as Array<{ tcp_port: number }>).map((p) => String(p.tcp_port)).sort()
}

t.test('lookupd discovery across processes', async (t) => {
  const lookupdArgs = ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--broadcast-address=127.0.0.1',
    '--inactive-producer-timeout=1500ms', '--tombstone-lifetime=3s', '--log-level=warn']
  const lookupds = await Promise.all([0, 1].map(async () => await spawnDaemon(t, 'lookupd/main.ts', lookupdArgs)))
  const nsqdArgs = (dir: string): string[] => ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--broadcast-address=127.0.0.1',
    `--data-path=${dir}`, '--lookupd-ping-interval=250ms', '--log-level=warn',
    ...lookupds.map((l) => `--lookupd-tcp-address=${l.tcp}`)]
  const nsqds = await Promise.all([0, 1, 2].map(async () => await spawnDaemon(t, 'nsqd/main.ts', nsqdArgs(tmpDir(t)))))
  const port = (d: Daemon): string => d.tcp.slice(d.tcp.lastIndexOf(':') + 1)
  const allPorts = nsqds.map(port).sort()
  const topic = uniq('cluster')

  for (const [i, n] of nsqds.entries()) {
    const res = await fetch(`http://${n.http}/pub?topic=${topic}`, { method: 'POST', body: `from-${i}` })
    t.equal(res.status, 200)
  }
  for (const l of lookupds) {
    await until(async () => (await producers(l, topic)).length === 3, 'three producers on each lookupd')
    t.same(await producers(l, topic), allPorts, `lookupd ${l.http} lists every producer`)
  }

  // a Reader given only the lookupd HTTP addresses consumes from all three nsqd
  const got = new Set<string>()
  const reader = new nsq.Reader(topic, 'ch', { lookupdHTTPAddresses: lookupds.map((l) => l.http), lookupdPollInterval: 1, maxInFlight: 10 })
  reader.on('error', () => {})
  t.teardown(() => { reader.close() })
  await new Promise<void>((resolve) => {
    reader.on('message', (m: Nsq.Message) => { got.add(m.body.toString()); m.finish(); if (got.size === 3) resolve() })
    reader.connect()
  })
  t.same([...got].sort(), ['from-0', 'from-1', 'from-2'])
  reader.close()

  // the channel the reader made is known to lookupd
  const chans = await getJson(`http://${lookupds[0]!.http}/channels?topic=${topic}`)
  t.same(chans.channels, ['ch'])

  // a stopped (frozen) nsqd stops pinging and drops out after the inactive timeout
  nsqds[2]!.proc.kill('SIGSTOP')
  t.teardown(() => { nsqds[2]!.proc.kill('SIGCONT') })
  await until(async () => (await producers(lookupds[0]!, topic)).length === 2, 'frozen nsqd dropped', 8000)
  t.notOk((await producers(lookupds[0]!, topic)).includes(port(nsqds[2]!)))
  nsqds[2]!.proc.kill('SIGCONT')
  await until(async () => (await producers(lookupds[0]!, topic)).length === 3, 'thawed nsqd back', 8000)

  // a killed nsqd disappears
  await nsqds[1]!.stop('SIGKILL')
  await until(async () => (await producers(lookupds[1]!, topic)).length === 2, 'killed nsqd gone', 8000)

  // a restarted lookupd gets every registration back
  const old = lookupds[0]!
  await old.stop('SIGTERM')
  const again = await spawnDaemon(t, 'lookupd/main.ts', [...lookupdArgs.filter((a) => !a.includes('-address=127.0.0.1:0')), `--tcp-address=${old.tcp}`, `--http-address=${old.http}`])
  await until(async () => (await producers(again, topic)).length === 2, 'registrations back after a lookupd restart', 10000)
  const chans2 = await getJson(`http://${again.http}/channels?topic=${topic}`)
  t.same(chans2.channels, ['ch'], 'channels registered again too')

  // tombstone hides a producer from /lookup for that topic
  const node = `127.0.0.1:${nsqds[0]!.http.slice(nsqds[0]!.http.lastIndexOf(':') + 1)}`
  const res = await fetch(`http://${again.http}/topic/tombstone?topic=${topic}&node=${node}`, { method: 'POST' })
  t.equal(res.status, 200)
  t.same(await producers(again, topic), [port(nsqds[2]!)], 'the tombstoned producer is hidden')
})

t.test('a new topic on an nsqd gets the channels lookupd knows', async (t) => {
  const lookupd = await spawnDaemon(t, 'lookupd/main.ts', ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--broadcast-address=127.0.0.1', '--log-level=warn'])
  const topic = uniq('pre')
  const mk = async (): Promise<Daemon> => await spawnDaemon(t, 'nsqd/main.ts', ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--broadcast-address=127.0.0.1',
    `--data-path=${tmpDir(t)}`, `--lookupd-tcp-address=${lookupd.tcp}`, '--log-level=warn'])
  const a = await mk()
  t.equal((await fetch(`http://${a.http}/channel/create?topic=${topic}&channel=early`, { method: 'POST' })).status, 404, 'no topic yet')
  await fetch(`http://${a.http}/topic/create?topic=${topic}`, { method: 'POST' })
  await fetch(`http://${a.http}/channel/create?topic=${topic}&channel=early`, { method: 'POST' })
  await until(async () => ((await getJson(`http://${lookupd.http}/channels?topic=${topic}`)).channels ?? []).includes('early'), 'channel registered')
  const b = await mk()
  // once b is known to lookupd (as NSQ, a topic created before nsqd has identified with any
  // lookupd gets no channels from it), the first publish to b creates the topic, which asks
  // lookupd for its channels first
  const bPort = Number(b.tcp.slice(b.tcp.lastIndexOf(':') + 1))
  await until(async () => ((await getJson(`http://${lookupd.http}/nodes`)).producers ?? []).some((p: { tcp_port: number }) => p.tcp_port === bPort), 'b registered with lookupd')
  await fetch(`http://${b.http}/pub?topic=${topic}`, { method: 'POST', body: 'first' })
  const early = async (): Promise<{ depth: number } | undefined> => {
    const stats = await getJson(`http://${b.http}/stats?format=json&topic=${topic}`)
    return stats.topics[0]?.channels.find((c: { channel_name: string }) => c.channel_name === 'early')
  }
  await until(async () => (await early())?.depth === 1, 'the first message in the pre-created channel')
  t.ok(await early(), 'the channel was pre-created')
  t.equal((await early())!.depth, 1, 'and kept the very first message')
})
