// Go-style flags, Go durations, names, and the core data structures (heap, FIFO, GUIDs).

import t from 'tap'
import { parseFlags, applyConfig, parseTomlSubset, formatHelp, FlagError, type FlagSpec } from '../../client/wire/flags.js'
import { parseDuration, formatDuration } from '../../client/wire/duration.js'
import { isValidName, isEphemeral, goQuote, goQuoteBytes } from '../../client/wire/names.js'
import { isGoPrint } from '../../client/wire/go-printable.js'
import { goJson, differsFromGo } from '../../client/wire/go-json.js'
import { MessageHeap } from '../../nsqd/core/pqueue.js'
import { Fifo } from '../../nsqd/core/fifo.js'
import { GuidFactory } from '../../nsqd/core/guid.js'
import { Message } from '../../nsqd/core/message.js'
import { FLAG_SPECS, optionsFromFlags } from '../../nsqd/options.js'

const specs: FlagSpec[] = [
  { name: 'tcp-address', kind: 'string', default: '0.0.0.0:4150', usage: 'tcp' },
  { name: 'msg-timeout', kind: 'duration', default: 60000, usage: 'timeout' },
  { name: 'mem-queue-size', kind: 'int', default: 10000, usage: 'mem' },
  { name: 'snappy', kind: 'bool', default: true, usage: 'snappy' },
  { name: 'lookupd-tcp-address', kind: 'strings', default: [], usage: 'lookupd', configKey: 'nsqlookupd_tcp_addresses' }
]

t.test('Go flag syntax', async (t) => {
  const p = parseFlags(specs, ['-tcp-address', '127.0.0.1:1', '--msg-timeout=1m30s', '-snappy=false', '--lookupd-tcp-address', 'a:1', '-lookupd-tcp-address=b:2', 'rest'])
  t.equal(p.values['tcp-address'], '127.0.0.1:1')
  t.equal(p.values['msg-timeout'], 90000)
  t.equal(p.values.snappy, false)
  t.same(p.values['lookupd-tcp-address'], ['a:1', 'b:2'])
  t.same(p.rest, ['rest'])
  t.equal(parseFlags(specs, ['-snappy']).values.snappy, true)
  t.equal(parseFlags(specs, ['-h']).help, true)
  t.throws(() => parseFlags(specs, ['-nope']), new FlagError('flag provided but not defined: -nope'))
  t.throws(() => parseFlags(specs, ['-mem-queue-size', 'x']), /invalid value "x" for flag -mem-queue-size/)
  t.throws(() => parseFlags(specs, ['-tcp-address']), /flag needs an argument: -tcp-address/)
  t.match(formatHelp('nsqd', specs), /-msg-timeout duration\n\s+timeout \(default 1m0s\)/)
})

t.test('config file under explicit flags', async (t) => {
  const p = parseFlags(specs, ['-mem-queue-size', '5'])
  applyConfig(specs, p, parseTomlSubset('mem_queue_size = 7 # comment\nmsg_timeout = "2s"\nnsqlookupd_tcp_addresses = [\n "x:1",\n "y:2"\n]\n'))
  t.equal(p.values['mem-queue-size'], 5, 'flag wins over the file')
  t.equal(p.values['msg-timeout'], 2000)
  t.same(p.values['lookupd-tcp-address'], ['x:1', 'y:2'])
})

t.test('nsqd flags build Options', async (t) => {
  const o = optionsFromFlags(parseFlags(FLAG_SPECS, ['--max-req-timeout=2h', '-e2e-processing-latency-percentile=0.99,0.5', '-tls-required=tcp-https']).values)
  t.equal(o.maxReqTimeoutMs, 7_200_000)
  t.same(o.e2eProcessingLatencyPercentiles, [0.99, 0.5])
  t.equal(o.tlsRequired, 1)
  t.equal(o.memQueueSize, 10000)
  t.equal(o.storeBacklogSize, 8 * 1024 * 1024, 'store memory bounds default to 8 MiB backlog, 4 MiB write buffer')
  t.equal(o.storeWriteBufferSize, 4 * 1024 * 1024)
  const m = optionsFromFlags(parseFlags(FLAG_SPECS, ['--store-backlog-size=1048576', '--store-write-buffer-size=2097152']).values)
  t.equal(m.storeBacklogSize, 1048576)
  t.equal(m.storeWriteBufferSize, 2097152)
})

t.test('Go durations', async (t) => {
  t.equal(parseDuration('250ms'), 250)
  t.equal(parseDuration('1m30s'), 90000)
  t.equal(parseDuration('1h'), 3_600_000)
  t.equal(parseDuration('1.5s'), 1500)
  t.equal(parseDuration('0'), 0)
  t.throws(() => parseDuration('10'), /missing unit/)
  t.throws(() => parseDuration('abc'), /invalid duration/)
  t.equal(formatDuration(60000), '1m0s')
  t.equal(formatDuration(3_600_000), '1h0m0s')
  t.equal(formatDuration(250), '250ms')
  t.equal(formatDuration(0), '0s')
})

t.test('names', async (t) => {
  t.ok(isValidName('orders.v2_x-y'))
  t.ok(isValidName('a#ephemeral'))
  t.ok(isValidName('a'.repeat(64)))
  t.notOk(isValidName('a'.repeat(65)))
  t.notOk(isValidName(''))
  t.notOk(isValidName('bad name'))
  t.notOk(isValidName('a#b'))
  t.notOk(isValidName('#ephemeral'))
  t.ok(isEphemeral('x#ephemeral'))
  t.equal(goQuote('a"b\\c\u0001'), '"a\\"b\\\\c\\x01"')
})

t.test('goQuoteBytes is Go strconv.Quote on raw bytes (tcp-protocol.md §17)', async (t) => {
  // [input bytes, Go's output bytes]
  const cases: Array<[number[], string]> = [
    [[0xff, 0xfe], '"\\xff\\xfe"'],
    [[0xc3, 0xa9], '"\xc3\xa9"'], // é passes through as its two bytes
    [[0x61, 0x01, 0x00, 0x7f], '"a\\x01\\x00\\x7f"'],
    [[0x07, 0x08, 0x0c, 0x0a, 0x0d, 0x09, 0x0b], '"\\a\\b\\f\\n\\r\\t\\v"'],
    [[0x22, 0x5c, 0x27, 0x20], '"\\"\\\\\' "'],
    [[0xc2, 0xa0], '"\\u00a0"'], // NO-BREAK SPACE is Zs: not printable for Go
    [[0xe2, 0x80, 0x8b], '"\\u200b"'], // ZERO WIDTH SPACE (Cf)
    [[0xc2, 0xad], '"\\u00ad"'], // SOFT HYPHEN (Cf)
    [[0xc2, 0x85], '"\\u0085"'], // C1 control: \u, not \x
    [[0xe2, 0x80, 0xa8], '"\\u2028"'],
    [[0xe3, 0x80, 0x80], '"\\u3000"'], // IDEOGRAPHIC SPACE
    [[0xee, 0x80, 0x80], '"\\ue000"'], // private use
    [[0xcd, 0xb8], '"\\u0378"'], // unassigned
    [[0xf3, 0xa0, 0x80, 0x81], '"\\U000e0001"'], // LANGUAGE TAG
    [[0xf0, 0xae, 0xaf, 0xb0], '"\\U0002ebf0"'], // CJK Ext. I: Unicode 15.1, unknown to Go 1.21
    [[0xf0, 0x9f, 0x98, 0x80], '"\xf0\x9f\x98\x80"'], // an emoji (So) passes through
    [[0xef, 0xbf, 0xbd], '"\xef\xbf\xbd"'], // a real U+FFFD is printable
    [[0xed, 0xa0, 0x80], '"\\xed\\xa0\\x80"'], // an encoded surrogate is invalid, byte by byte
    [[0xc0, 0x80], '"\\xc0\\x80"'], // overlong
    [[0xe2, 0x82], '"\\xe2\\x82"'], // truncated
    [[0xe2, 0x82, 0x61], '"\\xe2\\x82a"'],
    [[0xf4, 0x90, 0x80, 0x80], '"\\xf4\\x90\\x80\\x80"'], // above U+10FFFF
    [[0x80, 0xc3, 0xa9, 0xbf], '"\\x80\xc3\xa9\\xbf"']
  ]
  for (const [bytes, want] of cases) {
    t.equal(goQuoteBytes(Buffer.from(bytes).toString('latin1')), want, Buffer.from(bytes).toString('hex'))
  }
  // the JS-string form quotes the UTF-8 bytes and gives a JS string back
  t.equal(goQuote('é'), '"é"')
  t.equal(goQuote('a\u00a0b\u200b'), '"a\\u00a0b\\u200b"')
  t.equal(goQuote('\ud800'), '"\ufffd"', 'a lone surrogate is encoded as U+FFFD, which is printable')
  t.equal(goQuote('plain.name'), '"plain.name"')
  // the printable table: ASCII, Latin-1 and a few categories
  t.ok(isGoPrint(0x20)); t.notOk(isGoPrint(0x1f)); t.notOk(isGoPrint(0x7f)); t.notOk(isGoPrint(0xa0))
  t.ok(isGoPrint(0xa1)); t.notOk(isGoPrint(0xad)); t.ok(isGoPrint(0xff)); t.ok(isGoPrint(0x4e00))
  t.notOk(isGoPrint(0xd800)); t.notOk(isGoPrint(0x10ffff)); t.ok(isGoPrint(0x1f600)); t.notOk(isGoPrint(0x2ebf0))
  // the Unicode 15.0 table is a subset of Node's (newer) categories L, M, N, P, S; Latin-1 equals it
  const nodePrint = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u
  let bad = 0
  let printable = 0
  for (let c = 0; c < 0x30000; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue
    const go = isGoPrint(c)
    if (go) printable++
    if ((go && !nodePrint.test(String.fromCodePoint(c))) || (c < 0x100 && go !== nodePrint.test(String.fromCharCode(c)))) bad++
  }
  t.equal(bad, 0)
  t.equal(printable, 139627, "Unicode 15.0.0: printable code points below U+30000")
})

t.test('goJson is Go json.Marshal (nsqd-http.md §2)', async (t) => {
  t.equal(goJson({ client_id: 'c<1>&' }), '{"client_id":"c\\u003c1\\u003e\\u0026"}')
  t.equal(goJson('\u2028\u2029'), '"\\u2028\\u2029"')
  t.equal(goJson('\b\f\n\r\t\u0000\u0001\u001f\u007f'), '"\\u0008\\u000c\\n\\r\\t\\u0000\\u0001\\u001f\u007f"', 'Go < 1.22: no \\b or \\f; DEL stays raw')
  t.equal(goJson('"\\'), '"\\"\\\\"')
  // a backslash in the data is not the start of an escape
  t.equal(goJson('\\b\\f\\ud800\\<'), '"\\\\b\\\\f\\\\ud800\\\\\\u003c"')
  t.equal(goJson('\\\b'), '"\\\\\\u0008"')
  // a lone surrogate stands for invalid UTF-8: \ufffd; a pair is a valid rune and stays raw
  t.equal(goJson('a\ud800b\udfff'), '"a\\ufffdb\\ufffd"')
  t.equal(goJson('😀é'), '"😀é"')
  t.equal(goJson({ 'k<': ['&', 1.5, null, true] }), '{"k\\u003c":["\\u0026",1.5,null,true]}')
  t.equal(goJson({ a: 'plain', n: 1 }), '{"a":"plain","n":1}')
  t.equal(goJson(undefined), 'null')
  // differsFromGo: exactly the strings JSON.stringify writes differently
  for (const s of ['<', '>', '&', '\u2028', '\u2029', '\b', '\f', '\ud800', 'a\udfff']) t.ok(differsFromGo(s), Buffer.from(s).toString('hex'))
  for (const s of ['plain', '"\\', '\n\r\t\u0001\u001f\u007f', 'é€']) t.notOk(differsFromGo(s), Buffer.from(s).toString('hex'))
  t.equal(goJson({ a: '<' }, true), '{"a":"<"}', 'checked: the caller vouches, no scan')
})

t.test('message heap: ordering, removal by index, update', async (t) => {
  const h = new MessageHeap()
  const msgs = Array.from({ length: 200 }, (_, i) => { const m = new Message(String(i).padStart(16, '0'), Buffer.alloc(1), 0); m.pri = (i * 7919) % 1000; return m })
  for (const m of msgs) h.push(m)
  for (let i = 0; i < 200; i += 3) t.ok(h.remove(msgs[i]!))
  t.notOk(h.remove(msgs[0]!), 'a removed message is not removed twice')
  msgs[1]!.pri = -5
  h.update(msgs[1]!)
  const out: number[] = []
  let m: Message | undefined
  while ((m = h.popDue(Infinity)) !== undefined) out.push(m.pri)
  t.equal(out.length, 200 - 67)
  t.same(out, [...out].sort((a, b) => a - b), 'popped in priority order')
  t.equal(out[0], -5)
  const h2 = new MessageHeap()
  const a = new Message('a'.repeat(16), Buffer.alloc(1), 0); a.pri = 100
  h2.push(a)
  t.equal(h2.popDue(99), undefined, 'not due yet')
  t.equal(h2.popDue(100), a)
})

t.test('fifo wraps and grows', async (t) => {
  const f = new Fifo<number>(2)
  const out: number[] = []
  for (let i = 0; i < 100; i++) { f.push(i); if (i % 3 === 0) out.push(f.shift()!) }
  while (f.length > 0) out.push(f.shift()!)
  t.same(out, Array.from({ length: 100 }, (_, i) => i))
})

t.test('guids are unique, increasing, 16 hex chars', async (t) => {
  const g = new GuidFactory(513)
  const ids: string[] = []
  for (let i = 0; i < 20000; i++) ids.push(g.next(1_700_000_000_000))
  t.equal(new Set(ids).size, ids.length, 'unique even past 4096 per tick')
  t.ok(ids.every((id) => /^[0-9a-f]{16}$/.test(id)))
  t.same(ids, [...ids].sort(), 'increasing')
  const v = BigInt('0x' + ids[0]!)
  t.equal(Number((v >> 12n) & 1023n), 513, 'node id is embedded')
  t.equal(Number(v >> 22n), Math.floor(1_700_000_000_000 * 1e6 / 1048576) - 1288834974288, 'the tick since NSQ\'s epoch is the high bits')
  t.equal(Number(v & 4095n), 0, 'the first id of a tick has sequence 0')
  t.throws(() => new GuidFactory(1024))
})

t.test('in-flight queue: deadline order across timeout classes, O(1) removal, TOUCH with a cap', async (t) => {
  const { InFlightQueue } = await import('../../nsqd/core/inflight-queue.js')
  const q = new InFlightQueue()
  const mk = (i: number, delivery: number, timeout: number): Message => {
    const m = new Message(String(i).padStart(16, '0'), Buffer.alloc(1), 0)
    m.deliveryTs = delivery
    m.pri = delivery + timeout
    return m
  }
  // two consumers with different msg_timeouts, interleaved deliveries
  const all: Message[] = []
  for (let i = 0; i < 100; i++) all.push(mk(i, i, i % 2 === 0 ? 1000 : 300))
  for (const m of all) q.push(m)
  t.equal(q.length, 100)
  for (let i = 0; i < 100; i += 5) t.ok(q.remove(all[i]!))
  t.notOk(q.remove(all[0]!), 'removed once only')
  t.equal(q.length, 80)
  // TOUCH: a later deadline moves to the back; a capped (earlier) one walks back into place
  all[1]!.pri = 5000
  q.update(all[1]!)
  all[3]!.pri = 350
  q.update(all[3]!)
  t.equal(q.popDue(300), undefined, 'nothing due before the first deadline')
  const out: number[] = []
  let m: Message | undefined
  while ((m = q.popDue(Infinity)) !== undefined) out.push(m.pri)
  t.equal(out.length, 80)
  t.same(out, [...out].sort((a, b) => a - b), 'popped in deadline order')
  t.equal(out.at(-1), 5000)
  t.equal(q.length, 0)
  const again = [mk(1, 0, 10), mk(2, 1, 10)]
  for (const x of again) q.push(x)
  t.same(q.clear().map((x) => x.pri).sort(), [10, 11])
  t.equal(q.length, 0)
  t.notOk(q.remove(again[0]!), 'cleared messages are in no list')
})
