// The wire codec: client encoder vs server decoder vs the spec's golden bytes, fed whole, one byte
// at a time and split at every offset; garbage in gives a ProtocolError or a close, never a crash.

import t from 'tap'
import * as cmd from '../../client/wire/commands.js'
import { CommandDecoder, parseMpubBody, parseDecimal, goInt64, goDurationMs, DURATION_NEGATIVE, DURATION_TOO_LONG, type CommandHandler } from '../../client/wire/command-decoder.js'
import { FrameDecoder } from '../../client/wire/frame-decoder.js'
import { ProtocolError } from '../../client/wire/errors.js'
import { FRAME_OK, FRAME_HEARTBEAT, FRAME_CLOSE_WAIT, encodeFrame, FRAME_TYPE_ERROR } from '../../client/wire/frames.js'
import { encodeMessage, decodeMessage } from '../../client/wire/message.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

type Event = [string, ...unknown[]]

class Recorder implements CommandHandler {
  events: Event[] = []
  onLine (verb: string, params: string[]): boolean { this.events.push(['line', verb, params.slice(1)]); return true }
  onBody (verb: string, _params: string[], body: Buffer): boolean { this.events.push(['body', verb, body.toString('latin1')]); return true }
  onMpub (params: string[], bodies: Buffer[]): boolean { this.events.push(['mpub', params.slice(1), bodies.map((b) => b.toString('latin1'))]); return true }
  onDecodeError (err: ProtocolError | null): void { this.events.push(['error', err === null ? null : err.message]) }
}

const limits = { maxMsgSize: 1024, maxBodySize: 4096 }

function decodeAll (chunks: Buffer[]): Event[] {
  const r = new Recorder()
  const d = new CommandDecoder(r, limits)
  for (const c of chunks) d.push(c)
  return r.events
}

function splits (buf: Buffer): Buffer[][] {
  const out: Buffer[][] = [[buf], [...buf].map((b) => Buffer.from([b]))]
  for (let i = 1; i < buf.length; i++) out.push([buf.subarray(0, i), buf.subarray(i)])
  return out
}

t.test('encoder matches the spec byte examples', async (t) => {
  t.same(cmd.pub('t', 'hello'), hex('50 55 42 20 74 0a 00 00 00 05 68 65 6c 6c 6f'))
  t.same(cmd.mpub('t', ['a', 'bc']), hex('4d 50 55 42 20 74 0a 00 00 00 0f 00 00 00 02 00 00 00 01 61 00 00 00 02 62 63'))
  t.same(FRAME_OK, hex('00 00 00 06 00 00 00 00 4f 4b'))
  t.same(FRAME_HEARTBEAT, hex('00 00 00 0f 00 00 00 00 5f 68 65 61 72 74 62 65 61 74 5f'))
  t.same(FRAME_CLOSE_WAIT, hex('00 00 00 0e 00 00 00 00 43 4c 4f 53 45 5f 57 41 49 54'))
  const err = encodeFrame(FRAME_TYPE_ERROR, 'E_INVALID invalid command ASDF')
  t.same(err.subarray(0, 8), hex('00 00 00 22 00 00 00 01'))
  t.equal(cmd.rdy(100).toString(), 'RDY 100\n')
  t.equal(cmd.req('0123456789abcdef', 2500).toString(), 'REQ 0123456789abcdef 2500\n')
  t.equal(cmd.dpub('t', 1500, 'x').subarray(0, 12).toString(), 'DPUB t 1500\n')
})

t.test('decoder: a stream of every command, at every split', async (t) => {
  const stream = Buffer.concat([
    cmd.identify({ feature_negotiation: true }),
    cmd.sub('topic', 'chan'),
    cmd.rdy(10),
    cmd.pub('topic', 'hello'),
    cmd.mpub('topic', ['a', 'bc']),
    cmd.dpub('topic', 100, 'later'),
    cmd.fin('0123456789abcdef'),
    cmd.req('0123456789abcdef', 5),
    cmd.touch('0123456789abcdef'),
    cmd.NOP,
    Buffer.from('CLS\r\n')
  ])
  const expected: Event[] = [
    ['line', 'IDENTIFY', []], ['body', 'IDENTIFY', '{"feature_negotiation":true}'],
    ['line', 'SUB', ['topic', 'chan']],
    ['line', 'RDY', ['10']],
    ['line', 'PUB', ['topic']], ['body', 'PUB', 'hello'],
    ['line', 'MPUB', ['topic']], ['mpub', ['topic'], ['a', 'bc']],
    ['line', 'DPUB', ['topic', '100']], ['body', 'DPUB', 'later'],
    ['line', 'FIN', ['0123456789abcdef']],
    ['line', 'REQ', ['0123456789abcdef', '5']],
    ['line', 'TOUCH', ['0123456789abcdef']],
    ['line', 'NOP', []],
    ['line', 'CLS', []]
  ]
  let ok = 0
  const all = splits(stream)
  for (const chunks of all) {
    const got = decodeAll(chunks)
    if (JSON.stringify(got) === JSON.stringify(expected)) ok++
    else t.same(got, expected, `split into ${chunks.length} chunks`)
  }
  t.equal(ok, all.length, 'every split decodes identically')
})

t.test('decoder: body sizes are checked before buffering, with NSQ wording', async (t) => {
  const size = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b }
  const cases: Array<[Buffer, string]> = [
    [Buffer.concat([Buffer.from('PUB t\n'), size(0)]), 'E_BAD_MESSAGE PUB invalid message body size 0'],
    [Buffer.concat([Buffer.from('PUB t\n'), size(-5)]), 'E_BAD_MESSAGE PUB invalid message body size -5'],
    [Buffer.concat([Buffer.from('PUB t\n'), size(1025)]), 'E_BAD_MESSAGE PUB message too big 1025 > 1024'],
    [Buffer.concat([Buffer.from('DPUB t 5\n'), size(2000)]), 'E_BAD_MESSAGE DPUB message too big 2000 > 1024'],
    [Buffer.concat([Buffer.from('MPUB t\n'), size(-1)]), 'E_BAD_BODY MPUB invalid body size -1'],
    [Buffer.concat([Buffer.from('MPUB t\n'), size(5000)]), 'E_BAD_BODY MPUB body too big 5000 > 4096'],
    [Buffer.concat([Buffer.from('IDENTIFY\n'), size(5000)]), 'E_BAD_BODY IDENTIFY body too big 5000 > 4096'],
    [Buffer.concat([Buffer.from('IDENTIFY\n'), size(-2)]), 'E_BAD_BODY IDENTIFY invalid body size -2'],
    [Buffer.concat([Buffer.from('AUTH\n'), size(0)]), 'E_BAD_BODY AUTH invalid body size 0']
  ]
  for (const [input, want] of cases) {
    for (const chunks of splits(input)) {
      const ev = decodeAll(chunks)
      const last = ev[ev.length - 1]
      if (last?.[1] !== want) { t.same(last, ['error', want]); break }
    }
    t.same(decodeAll([input]).at(-1), ['error', want], want)
  }
})

t.test('decoder: a line over 16 KiB without newline closes without a frame', async (t) => {
  const ev = decodeAll([Buffer.alloc(16 * 1024 + 10, 0x41)])
  t.same(ev, [['error', null]])
})

t.test('decoder: stops after a command and hands back the rest', async (t) => {
  const r = new Recorder()
  let d: CommandDecoder | null = null
  r.onBody = function (verb, _p, body) { this.events.push(['body', verb, body.toString()]); d?.stop(); return true }
  d = new CommandDecoder(r, limits)
  const tail = Buffer.from([0xff, 0x06, 0x00, 0x01, 0x02])
  d.push(Buffer.concat([cmd.identify({ a: 1 }), tail]))
  t.same(d.takeRest(), tail)
})

t.test('MPUB bodies: counts and inner sizes', async (t) => {
  const body = (parts: number[], count = parts.length): Buffer => {
    const bufs = [Buffer.alloc(4)]
    bufs[0]!.writeInt32BE(count)
    for (const n of parts) { const s = Buffer.alloc(4); s.writeInt32BE(n); bufs.push(s, Buffer.alloc(Math.max(0, n), 0x61)) }
    return Buffer.concat(bufs)
  }
  t.same(parseMpubBody(body([1, 2]), limits).map((b) => b.toString()), ['a', 'aa'])
  const err = (b: Buffer): string => { try { parseMpubBody(b, limits); return 'no error' } catch (e) { return (e as Error).message } }
  t.equal(err(body([], 0)), 'E_BAD_BODY MPUB invalid message count 0')
  t.equal(err(body([1], 1000)), 'E_BAD_BODY MPUB invalid message count 1000')
  t.equal(err(body([0])), 'E_BAD_MESSAGE MPUB invalid message(0) body size 0')
  t.equal(err(body([1, 2000])), 'E_BAD_MESSAGE MPUB message too big 2000 > 1024')
  t.equal(err(body([1], 2)), 'E_BAD_MESSAGE MPUB failed to read message(1) body size')
  t.equal(err(Buffer.from([0, 0])), 'E_BAD_BODY MPUB failed to read message count')
  t.equal(err(body([1]).subarray(0, 8)), 'E_BAD_MESSAGE MPUB failed to read message body')
})

t.test('decimal parsing is digits only; empty is 0', async (t) => {
  t.equal(parseDecimal('2500'), 2500)
  t.equal(parseDecimal(''), 0)
  t.equal(parseDecimal('-1'), -1)
  t.equal(parseDecimal('+1'), -1)
  t.equal(parseDecimal('1 '), -1)
  t.equal(parseDecimal('1e3'), -1)
  t.equal(parseDecimal('\u00b9'), -1, 'a latin1 superscript digit is not a digit')
  t.equal(parseDecimal('999999999999999'), 999999999999999, '15 digits stay a plain number')
  t.equal(parseDecimal('1234567890123456x'), -1, 'the slow path rejects non-digits too')
})

t.test('numbers follow Go: a wrapping uint64, read as int64 (RDY) or as ms of an int64 ns duration (REQ, DPUB)', async (t) => {
  // digits accumulate mod 2^64
  t.equal(parseDecimal('18446744073709551615'), 18446744073709551615n)
  t.equal(parseDecimal('18446744073709551616'), 0n)
  t.equal(parseDecimal('100000000000000020000'), 7766279631452261920n)
  t.equal(parseDecimal('1111111111111111111111111111111111111111'), 17885963945401676231n)
  t.equal(parseDecimal('00000000000000000000042'), 42n)
  // RDY: int64(u)
  t.equal(goInt64(2500), 2500)
  t.equal(goInt64(parseDecimal('9223372036854775807')), 9223372036854775807n)
  t.equal(goInt64(parseDecimal('9223372036854775808')), -9223372036854775808n)
  t.equal(goInt64(parseDecimal('18446744073709551616')), 0, 'RDY 2^64 is RDY 0')
  t.equal(goInt64(parseDecimal('00000000000000000000042')), 42)
  t.equal(`${goInt64(parseDecimal('1111111111111111111111111111111111111111'))}`, '-560780128307875385', 'printed exactly')
  // REQ/DPUB: time.Duration(u) * time.Millisecond, range [0, max]
  const max = 3600000
  t.equal(goDurationMs(0, max), 0)
  t.equal(goDurationMs(3600000, max), 3600000)
  t.equal(goDurationMs(3600001, max), DURATION_TOO_LONG)
  t.equal(goDurationMs(9223372036854, max), DURATION_TOO_LONG, 'the largest count that does not wrap')
  t.equal(goDurationMs(9223372036855, max), DURATION_NEGATIVE, 'one more wraps negative')
  t.equal(goDurationMs(parseDecimal('100000000000000020000'), max), DURATION_NEGATIVE)
  t.equal(goDurationMs(parseDecimal('1111111111111111111111111111111111111111'), max), DURATION_TOO_LONG)
  t.equal(goDurationMs(parseDecimal('9223372036854775808'), max), 0, '2^63 ms is 0 ns')
  t.equal(goDurationMs(18446744073710, max), 1, 'wraps to 448384 ns: a positive defer under 1 ms, kept positive')
})

t.test('frames decode whole, byte by byte and split anywhere', async (t) => {
  const msg = encodeMessage(1_700_000_000_123_456_768, 3, '0123456789abcdef', Buffer.from('hi'))
  const stream = Buffer.concat([FRAME_OK, encodeFrame(2, msg), FRAME_HEARTBEAT, encodeFrame(1, 'E_INVALID bad')])
  for (const chunks of splits(stream)) {
    const got: Array<[number, string]> = []
    const d = new FrameDecoder((type, data) => { got.push([type, type === 2 ? JSON.stringify({ ...decodeMessage(data), body: decodeMessage(data).body.toString() }) : data.toString()]) })
    for (const c of chunks) d.push(c)
    if (got.length !== 4) { t.fail(`split ${chunks.length}: ${got.length} frames`); return }
  }
  const m = decodeMessage(msg)
  t.equal(m.timestamp, 1_700_000_000_123_456_768)
  t.equal(m.attempts, 3)
  t.equal(m.id, '0123456789abcdef')
  t.equal(m.body.toString(), 'hi')
  t.same(msg.subarray(8, 10), Buffer.from([0, 3]))
  t.throws(() => { new FrameDecoder(() => {}).push(Buffer.from([0, 0, 0, 1, 0, 0, 0, 0])) }, RangeError)
})

t.test('random garbage never crashes the decoder', async (t) => {
  let seed = 12345
  const rnd = (): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed }
  let errors = 0
  for (let i = 0; i < 3000; i++) {
    const len = rnd() % 200
    const buf = Buffer.alloc(len)
    for (let j = 0; j < len; j++) buf[j] = rnd() & 0xff
    if (i % 3 === 0) buf.write(['PUB t\n', 'MPUB t\n', 'IDENTIFY\n', 'DPUB t 1\n'][i % 4] as string, 0)
    const r = new Recorder()
    const d = new CommandDecoder(r, limits)
    let o = 0
    while (o < buf.length && !d.isStopped) { const n = 1 + (rnd() % 17); d.push(buf.subarray(o, o + n)); o += n }
    if (r.events.some((e) => e[0] === 'error')) errors++
  }
  t.ok(errors > 0, `garbage produced ${errors} decode errors and no exceptions`)
})

t.test('ProtocolError: fatality and parsing', async (t) => {
  t.equal(new ProtocolError('E_FIN_FAILED', 'x').fatal, false)
  t.equal(new ProtocolError('E_REQ_FAILED', 'x').fatal, false)
  t.equal(new ProtocolError('E_TOUCH_FAILED', 'x').fatal, false)
  t.equal(new ProtocolError('E_INVALID', 'x').fatal, true)
  t.equal(new ProtocolError('E_BAD_PROTOCOL').message, 'E_BAD_PROTOCOL')
  const p = ProtocolError.parse('E_PUB_FAILED PUB failed exiting')
  t.equal(p.code, 'E_PUB_FAILED')
  t.equal(p.message, 'E_PUB_FAILED PUB failed exiting')
})

t.test('frame decoder stops after a frame and hands back the rest', async (t) => {
  const tail = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e])
  const got: string[] = []
  const d: FrameDecoder = new FrameDecoder((_type, data) => { got.push(data.toString()); d.stop() })
  d.push(Buffer.concat([encodeFrame(0, '{"snappy":true}'), tail]))
  d.push(Buffer.from([0x61, 0x50]))
  t.same(got, ['{"snappy":true}'], 'nothing after the stop was decoded')
  t.same(d.takeRest(), Buffer.concat([tail, Buffer.from([0x61, 0x50])]))
  d.resume()
  d.push(FRAME_OK)
  t.same(got, ['{"snappy":true}', 'OK'], 'resumed')
})

t.test('decoder: a FIN line with a space inside the id splits like any other line', async (t) => {
  t.same(decodeAll([Buffer.from('FIN 0123456789 bcdef\nFIN 0123456789abcdef\n')]), [
    ['line', 'FIN', ['0123456789', 'bcdef']],
    ['line', 'FIN', ['0123456789abcdef']]
  ])
})

const int32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b }

/** Feeds `input` in every split (whole, byte by byte, two pieces at every offset). */
function eachSplit (input: Buffer, fn: (chunks: Buffer[], how: string) => void): void {
  const all = splits(input)
  for (let i = 0; i < all.length; i++) fn(all[i] as Buffer[], i === 0 ? 'whole' : i === 1 ? 'byte by byte' : `split at ${i - 1}`)
}

t.test('decoder: EOF after a complete command line gets nsqd\'s read error; inside or between lines it is clean', async (t) => {
  // each command as segments, with the error EOF gives while that segment is being read
  const commands: Array<Array<[Buffer | string, string | null]>> = [
    [['PUB t\n', null], [int32(5), 'E_BAD_MESSAGE PUB failed to read message body size'], ['hello', 'E_BAD_MESSAGE PUB failed to read message body']],
    [['DPUB t 10\n', null], [int32(2), 'E_BAD_MESSAGE DPUB failed to read message body size'], ['hi', 'E_BAD_MESSAGE DPUB failed to read message body']],
    [['MPUB t\n', null], [int32(15), 'E_BAD_BODY MPUB failed to read body size'], [int32(2), 'E_BAD_BODY MPUB failed to read message count'],
      [int32(1), 'E_BAD_MESSAGE MPUB failed to read message(0) body size'], ['a', 'E_BAD_MESSAGE MPUB failed to read message body'],
      [int32(2), 'E_BAD_MESSAGE MPUB failed to read message(1) body size'], ['bc', 'E_BAD_MESSAGE MPUB failed to read message body']],
    [['IDENTIFY\n', null], [int32(2), 'E_BAD_BODY IDENTIFY failed to read body size'], ['{}', 'E_BAD_BODY IDENTIFY failed to read body']],
    [['AUTH\n', null], [int32(6), 'E_BAD_BODY AUTH failed to read body size'], ['secret', 'E_BAD_BODY AUTH failed to read body']]
  ]
  for (const segments of commands) {
    // a NOP first: EOF between two commands is clean too
    const parts: Array<[Buffer, string | null]> = [[Buffer.from('NOP\n'), null], ...segments.map(([b, e]): [Buffer, string | null] => [Buffer.from(b), e])]
    const stream = Buffer.concat(parts.map(([b]) => b))
    const expectAt = (k: number): string | null => {
      let o = 0
      for (const [b, e] of parts) { if (k < o + b.length) return k === o && e === null ? null : e; o += b.length }
      return null // the whole command was read
    }
    let checked = 0
    for (let k = 0; k <= stream.length; k++) {
      const want = expectAt(k)
      eachSplit(stream.subarray(0, k), (chunks, how) => {
        const d = new CommandDecoder(new Recorder(), limits)
        for (const c of chunks) d.push(c)
        const got = d.eofError()?.message ?? null
        if (got !== want) t.equal(got, want, `${segments[0]![0]!.toString().trim()}: EOF after ${k} bytes, fed ${how}`)
        else checked++
      })
    }
    t.ok(checked > stream.length, `${segments[0]![0]!.toString().trim()}: EOF at every offset and split (${checked} cases)`)
  }
})

t.test('decoder: MPUB reads its count and messages from the stream, not bounded by the body size', async (t) => {
  const mpub = (bodySize: number, count: number, ...rest: Array<Buffer | string>): Buffer =>
    Buffer.concat([Buffer.from('MPUB t\n'), int32(bodySize), int32(count), ...rest.map((r) => Buffer.from(r))])
  const cases: Array<[string, Buffer, Event[]]> = [
    ['a count larger than the body holds takes the following bytes as messages',
      mpub(9, 2, int32(1), 'a', int32(2), 'bc', 'NOP\n'),
      [['line', 'MPUB', ['t']], ['mpub', ['t'], ['a', 'bc']], ['line', 'NOP', []]]],
    ['a message overrunning the body continues into the following bytes',
      mpub(9, 1, int32(5), 'hello', 'NOP\n'),
      [['line', 'MPUB', ['t']], ['mpub', ['t'], ['hello']], ['line', 'NOP', []]]],
    ['bytes left after the count-th message are the next command line',
      Buffer.concat([mpub(30, 1, int32(1), 'a'), Buffer.from('NOP\nRDY 5\n')]),
      [['line', 'MPUB', ['t']], ['mpub', ['t'], ['a']], ['line', 'NOP', []], ['line', 'RDY', ['5']]]],
    ['the next command\'s bytes become message data',
      Buffer.concat([mpub(9, 2, int32(1), 'a'), int32(6), Buffer.from('PUB t\n'), Buffer.from('NOP\n')]),
      [['line', 'MPUB', ['t']], ['mpub', ['t'], ['a', 'PUB t\n']], ['line', 'NOP', []]]],
    ['count 0', mpub(8, 0), [['line', 'MPUB', ['t']], ['error', 'E_BAD_BODY MPUB invalid message count 0']]],
    ['count -1', mpub(8, -1), [['line', 'MPUB', ['t']], ['error', 'E_BAD_BODY MPUB invalid message count -1']]],
    ['count over (max body - 4) / 5', mpub(8, 819), [['line', 'MPUB', ['t']], ['error', 'E_BAD_BODY MPUB invalid message count 819']]],
    ['count of exactly (max body - 4) / 5 waits for its messages', mpub(8, 818, int32(1), 'a'), [['line', 'MPUB', ['t']]]],
    ['message size 0, as soon as it is read', mpub(20, 3, int32(1), 'a', int32(0)),
      [['line', 'MPUB', ['t']], ['error', 'E_BAD_MESSAGE MPUB invalid message(1) body size 0']]],
    ['negative message size', mpub(20, 1, int32(-7)), [['line', 'MPUB', ['t']], ['error', 'E_BAD_MESSAGE MPUB invalid message(0) body size -7']]],
    ['message too big, before its body arrives', mpub(20, 2, int32(2), 'ab', int32(1025)),
      [['line', 'MPUB', ['t']], ['error', 'E_BAD_MESSAGE MPUB message too big 1025 > 1024']]],
    ['a message of exactly max size', mpub(1032, 1, int32(1024), Buffer.alloc(1024, 0x7a)),
      [['line', 'MPUB', ['t']], ['mpub', ['t'], ['z'.repeat(1024)]]]],
    ['body size checks still come first', Buffer.concat([Buffer.from('MPUB t\n'), int32(0), int32(1)]),
      [['line', 'MPUB', ['t']], ['error', 'E_BAD_BODY MPUB invalid body size 0']]],
    ['body size over --max-body-size', Buffer.concat([Buffer.from('MPUB t\n'), int32(4097), int32(1)]),
      [['line', 'MPUB', ['t']], ['error', 'E_BAD_BODY MPUB body too big 4097 > 4096']]]
  ]
  for (const [name, input, want] of cases) {
    let ok = 0
    eachSplit(input, (chunks, how) => {
      const got = decodeAll(chunks)
      if (JSON.stringify(got) === JSON.stringify(want)) ok++
      else t.same(got, want, `${name}, fed ${how}`)
    })
    t.equal(ok, input.length + 1, name)
  }
})

t.test('decoder: a command line, its \\n included, must fit in 16384 bytes', async (t) => {
  const line = (n: number): Buffer => { const b = Buffer.alloc(n, 0x41); b.write('NOP '); return b }
  const fits = Buffer.concat([line(16383), Buffer.from('\nRDY 1\n')])
  const tooLong = Buffer.concat([line(16384), Buffer.from('\nRDY 1\n')])
  const noNewline = line(16384)
  const offsets = [0, 1, 4, 8191, 16382, 16383, 16384, 16385]
  const feeds = (b: Buffer): Array<[Buffer[], string]> => [
    [[b], 'whole'],
    ...offsets.filter((o) => o > 0 && o < b.length).map((o): [Buffer[], string] => [[b.subarray(0, o), b.subarray(o)], `split at ${o}`]),
    [Array.from({ length: Math.ceil(b.length / 1000) }, (_, i) => b.subarray(i * 1000, i * 1000 + 1000)), '1000-byte pieces']
  ]
  for (const [chunks, how] of feeds(fits)) {
    const ev = decodeAll(chunks)
    t.same(ev.map((e) => e.slice(0, 2)), [['line', 'NOP'], ['line', 'RDY']], `16383 bytes + \\n is a command, fed ${how}`)
  }
  for (const [chunks, how] of feeds(tooLong)) {
    t.same(decodeAll(chunks), [['error', null]], `16384 bytes + \\n closes without a frame, fed ${how}`)
  }
  for (const [chunks, how] of feeds(noNewline)) {
    t.same(decodeAll(chunks), [['error', null]], `16384 bytes and no \\n yet closes without a frame, fed ${how}`)
  }
  t.same(decodeAll([line(16383)]), [], '16383 bytes without \\n: still waiting')
  t.same(decodeAll([Buffer.from('NOP\n'), line(16384)]), [['line', 'NOP', []], ['error', null]], 'the limit applies per line')
  const r = new Recorder()
  const d = new CommandDecoder(r, limits)
  for (let i = 0; i < 16384; i++) d.push(Buffer.from([0x41]))
  t.same(r.events, [['error', null]], 'byte by byte')
})
