// The IDENTIFY body decoder against Go encoding/json's rules for nsqd's identifyDataV2
// (tcp-protocol.md §8.1, §9): typed fields, key folding, duplicates, null, strings, numbers,
// syntax, nesting, and the exact error frames of decodeIdentify + validateIdentify.

import t from 'tap'
import { decodeIdentifyJson, identifyDefaults, fieldForKey, MAX_NESTING_DEPTH, type IdentifyFields } from '../../nsqd/tcp/identify-json.js'
import { GoStruct, decodeGoStringSlice, SLICE_DECODE_FAILED } from '../../client/wire/go-unmarshal.js'
import { decodeIdentify, validateIdentify, negotiate, type IdentifySettings } from '../../nsqd/tcp/identify.js'
import { defaultOptions } from '../../nsqd/options.js'
import { ProtocolError } from '../../client/wire/errors.js'

const DECODE_FAILED = 'E_BAD_BODY IDENTIFY failed to decode JSON body'

const dec = (body: string | Buffer): IdentifyFields | null => decodeIdentifyJson(typeof body === 'string' ? Buffer.from(body) : body)

/** The whole IDENTIFY pipeline a connection runs: decode, then validate; the error frame text or 'ok'. */
function identifyOutcome (body: string, current?: IdentifySettings): string {
  const opts = defaultOptions()
  const cur = current ?? { heartbeatIntervalMs: opts.clientTimeoutMs / 2, outputBufferSize: 16384, outputBufferTimeoutMs: opts.outputBufferTimeoutMs, sampleRate: 0, msgTimeoutMs: opts.msgTimeoutMs }
  try {
    validateIdentify(decodeIdentify(Buffer.from(body)), opts, cur)
    return 'ok'
  } catch (err) {
    if (err instanceof ProtocolError) return err.message
    throw err
  }
}

t.test('IDENTIFY sets the identity: missing or null keys give ""', async (t) => {
  t.same(dec('{"hostname":"h1"}'), { ...identifyDefaults(), hostname: 'h1' })
  t.equal(dec('{"hostname":"h1"}')?.client_id, '')
  t.same(dec('{}'), identifyDefaults())
  t.same(dec('{"client_id":null,"hostname":null,"user_agent":null}'), identifyDefaults())
  t.same(dec('null'), identifyDefaults(), 'a top-level null decodes to all zero values')
  t.same(dec(' \t\r\nnull\n'), identifyDefaults())
})

t.test('integer fields take only integer literals that fit int64 (sample_rate: int32)', async (t) => {
  for (const body of [
    '{"heartbeat_interval":1e3}',
    '{"heartbeat_interval":1000.0}',
    '{"heartbeat_interval":1E3}',
    '{"msg_timeout":5000e0}',
    '{"msg_timeout":-0.0}',
    '{"msg_timeout":9223372036854775808}',
    '{"msg_timeout":-9223372036854775809}',
    '{"deflate_level":99999999999999999999999}',
    '{"sample_rate":2147483648}',
    '{"sample_rate":-2147483649}',
    '{"sample_rate":9223372036854775807}'
  ]) {
    t.equal(dec(body), null, body)
    t.equal(identifyOutcome(body), DECODE_FAILED, body)
  }
  t.equal(dec('{"msg_timeout":9223372036854775807}')?.msg_timeout, 9223372036854775807n)
  t.equal(dec('{"msg_timeout":-9223372036854775808}')?.msg_timeout, -9223372036854775808n)
  t.equal(dec('{"msg_timeout":9007199254740991}')?.msg_timeout, 9007199254740991, 'a safe integer stays a number')
  t.equal(dec('{"msg_timeout":9007199254740992}')?.msg_timeout, 9007199254740992n)
  t.equal(dec('{"msg_timeout":123456789012345}')?.msg_timeout, 123456789012345)
  t.equal(dec('{"msg_timeout":-0}')?.msg_timeout, 0)
  t.ok(Object.is(dec('{"msg_timeout":-0}')?.msg_timeout, 0), '-0 is plain 0')
  t.equal(dec('{"sample_rate":2147483647}')?.sample_rate, 2147483647)
  t.equal(dec('{"sample_rate":-2147483648}')?.sample_rate, -2147483648)
})

t.test('a decode failure beats every validation error', async (t) => {
  t.equal(identifyOutcome('{"output_buffer_size":65537,"heartbeat_interval":1e3}'), DECODE_FAILED)
  t.equal(identifyOutcome('{"heartbeat_interval":999,"client_id":7}'), DECODE_FAILED)
  t.equal(identifyOutcome('{"heartbeat_interval":999} x'), DECODE_FAILED)
})

t.test('a wrong type anywhere fails the body, even with a right duplicate', async (t) => {
  t.equal(dec('{"heartbeat_interval":"x","heartbeat_interval":1000}'), null)
  t.equal(dec('{"heartbeat_interval":1000,"heartbeat_interval":"x"}'), null)
  t.equal(dec('{"HEARTBEAT_INTERVAL":true,"heartbeat_interval":1000}'), null)
  const wrong = [
    ['client_id', '5'], ['client_id', 'true'], ['client_id', '{}'], ['client_id', '["a"]'],
    ['feature_negotiation', '1'], ['feature_negotiation', '"true"'], ['tls_v1', '0'], ['snappy', '[]'],
    ['heartbeat_interval', '"30000"'], ['heartbeat_interval', 'true'], ['msg_timeout', '{}'], ['sample_rate', '[1]'],
    ['topology_zone', '1']
  ]
  for (const [k, v] of wrong) t.equal(dec(`{"${k}":${v}}`), null, `${k}: ${v}`)
  t.equal(identifyOutcome('{"feature_negotiation":"true"}'), DECODE_FAILED)
})

t.test('keys: document order, Go case folding, the last match wins, unknown keys ignored', async (t) => {
  t.equal(dec('{"client_id":"a","CLIENT_ID":"b","client_id":"c"}')?.client_id, 'c')
  t.equal(dec('{"client_id":"a","CLIENT_ID":"b"}')?.client_id, 'b')
  t.equal(dec('{"Msg_Timeout":5000}')?.msg_timeout, 5000)
  t.equal(dec('{"ho\u017ftname":"long s"}')?.hostname, 'long s', 'U+017F folds to s')
  t.equal(dec('{"\u017fnappy":true}')?.snappy, true)
  t.equal(dec('{"SAMPLE_RATE":5,"\u017fample_rate":7}')?.sample_rate, 7)
  t.equal(fieldForKey('\u212a'), undefined, 'no field name has a k, so the Kelvin sign names nothing here')
  t.equal(fieldForKey('HO\u017fTNAME')?.name, 'hostname')
  // other non-ASCII look-alikes do not fold onto ASCII letters
  t.equal(dec('{"cl\u0131ent_id":"dotless i"}')?.client_id, '')
  t.equal(dec('{"cl\u0130ent_id":"dotted I"}')?.client_id, '')
  t.equal(dec('{"client-id":"x","client_id ":"y","clientid":"z"}')?.client_id, '')
  t.equal(dec('{"cLiEnT_iD":"mixed"}')?.client_id, 'mixed')
  t.equal(dec('{"client\u007fid":"x","CLIENT\u007fID":"y"}')?.client_id, '', 'only letters fold')
  // keys are unescaped before matching
  t.equal(dec('{"client\\u005fid":"esc"}')?.client_id, 'esc')
  t.equal(dec('{"ho\\u017ftname":"esc"}')?.hostname, 'esc')
  // unknown keys take any valid value, nested or not (short_id/long_id are not fields in 1.3.0)
  t.same(dec('{"short_id":5,"long_id":{"a":[1,2,{"b":null}]},"x":[true,false,null,"s",-1.5e-3,{}],"y":[]}'), identifyDefaults())
})

t.test('null keeps the earlier value of a string, bool or number field', async (t) => {
  t.equal(dec('{"msg_timeout":5000,"msg_timeout":null}')?.msg_timeout, 5000)
  t.equal(dec('{"client_id":"a","client_id":null}')?.client_id, 'a')
  t.equal(dec('{"tls_v1":true,"TLS_V1":null}')?.tls_v1, true)
  t.equal(dec('{"sample_rate":null}')?.sample_rate, 0)
  t.equal(dec('{"msg_timeout":nul}'), null)
})

t.test('strings: escapes, U+FFFD per invalid UTF-8 byte and per lone surrogate', async (t) => {
  const s = (json: string | Buffer): string | undefined => dec(Buffer.concat([Buffer.from('{"client_id":"'), Buffer.from(json), Buffer.from('"}')]))?.client_id
  t.equal(s('\\"\\\\\\/\\b\\f\\n\\r\\t'), '"\\/\b\f\n\r\t')
  t.equal(s('\\u0041\\u00e9\\u20AC'), 'Aé€')
  t.equal(s('\\ud83d\\ude00'), '\u{1f600}', 'a valid pair')
  t.equal(s('\\ud800'), '\ufffd', 'a lone high surrogate')
  t.equal(s('\\udc00x'), '\ufffdx', 'a lone low surrogate')
  t.equal(s('\\ud800\\u0041'), '\ufffdA', 'a high surrogate before a non-surrogate escape')
  t.equal(s('\\ude00\\ud83d'), '\ufffd\ufffd', 'a reversed pair')
  t.equal(s('\\ud83d\\ud83d\\ude00'), '\ufffd\u{1f600}', 'a high surrogate, then a pair')
  t.equal(s('\\ud800x\\ud83d\\ude00\\udc00'), '\ufffdx\u{1f600}\ufffd')
  t.equal(s(Buffer.from('caf\u00e9 \u20ac \u{1f600}')), 'café € \u{1f600}', 'valid UTF-8 passes through')
  t.equal(s(Buffer.from([0xff])), '\ufffd')
  t.equal(s(Buffer.from([0xe2, 0x82, 0x41])), '\ufffd\ufffdA', 'a truncated sequence: one U+FFFD per byte')
  t.equal(s(Buffer.from([0xed, 0xa0, 0x80])), '\ufffd\ufffd\ufffd', 'an encoded surrogate: three bytes, three U+FFFD')
  t.equal(s(Buffer.from([0xc0, 0xaf])), '\ufffd\ufffd', 'an overlong encoding')
  t.equal(s(Buffer.from([0xf4, 0x90, 0x80, 0x80])), '\ufffd\ufffd\ufffd\ufffd', 'above U+10FFFF')
  t.equal(s(Buffer.from([0xf0, 0x9f, 0x98])), '\ufffd\ufffd\ufffd', 'cut short by the closing quote')
  t.equal(s(Buffer.from([0x61, 0x80, 0x62])), 'a\ufffdb', 'a stray continuation byte')
  t.equal(s(Buffer.from('\u007f')), '\u007f')
  for (const bad of ['\\x', '\\u12', '\\u12g4', '\\\'', '\x01', '\t', '\n']) t.equal(s(bad), undefined, JSON.stringify(bad))
})

t.test('strings: random text, each character raw or escaped, decodes back to itself', async (t) => {
  let seed = 11
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n }
  const pool = [0x00, 0x08, 0x0a, 0x1f, 0x20, 0x22, 0x2f, 0x41, 0x5c, 0x7f, 0x80, 0xe9, 0x7ff, 0x800, 0xfffd, 0xffff, 0x10000, 0x1f600, 0x10ffff]
  const u4 = (n: number): string => '\\u' + n.toString(16).padStart(4, '0')
  for (let k = 0; k < 500; k++) {
    let text = ''
    let json = ''
    for (let n = rnd(30); n > 0; n--) {
      const cp = rnd(3) === 0 ? (pool[rnd(pool.length)] as number) : 0x20 + rnd(0x3000)
      if (cp >= 0xd800 && cp <= 0xdfff) continue
      const ch = String.fromCodePoint(cp)
      text += ch
      const how = rnd(3)
      const escaped = cp < 0x10000 ? u4(cp) : u4(ch.charCodeAt(0)) + u4(ch.charCodeAt(1))
      const short = JSON.stringify(ch) // "\n", "\"", "\\" ... for the characters that need one
      if (cp < 0x20 || cp === 0x22 || cp === 0x5c) json += how === 1 && short.length === 4 ? short.slice(1, 3) : escaped
      else if (how === 0) json += escaped
      else if (how === 1 && cp === 0x2f) json += '\\/'
      else json += ch
    }
    const got = dec(`{"client_id":"${json}"}`)?.client_id
    if (got !== text) t.fail(`${JSON.stringify(json)} gave ${JSON.stringify(got)}`)
  }
  const long = 'é\\n\\u00e9\\ud83d\\ude00a'.repeat(20000)
  t.equal(dec(`{"client_id":"${long}"}`)?.client_id, 'é\né\u{1f600}a'.repeat(20000), 'a long mixed string')
  t.pass('random strings decoded')
})

t.test('numbers in error texts are printed exactly as parsed', async (t) => {
  t.equal(identifyOutcome('{"heartbeat_interval":9223372036854775807}'), 'E_BAD_BODY IDENTIFY heartbeat interval (9223372036854775807) is invalid')
  t.equal(identifyOutcome('{"heartbeat_interval":-9223372036854775808}'), 'E_BAD_BODY IDENTIFY heartbeat interval (-9223372036854775808) is invalid')
  t.equal(identifyOutcome('{"output_buffer_timeout":9007199254740993}'), 'E_BAD_BODY IDENTIFY output buffer timeout (9007199254740993) is invalid')
  t.equal(identifyOutcome('{"output_buffer_size":12345678901234567}'), 'E_BAD_BODY IDENTIFY output buffer size (12345678901234567) is invalid')
  t.equal(identifyOutcome('{"sample_rate":2147483647}'), 'E_BAD_BODY IDENTIFY sample rate (2147483647) is invalid')
  t.equal(identifyOutcome('{"msg_timeout":-1}'), 'E_BAD_BODY IDENTIFY msg timeout (-1) is invalid')
  t.equal(identifyOutcome('{"msg_timeout":-0}'), 'ok')
})

t.test('validation order and texts (spec §9.2)', async (t) => {
  t.equal(identifyOutcome('{"msg_timeout":1,"sample_rate":100,"output_buffer_size":1,"output_buffer_timeout":1,"heartbeat_interval":1}'), 'E_BAD_BODY IDENTIFY heartbeat interval (1) is invalid')
  t.equal(identifyOutcome('{"msg_timeout":1,"sample_rate":100,"output_buffer_size":1,"output_buffer_timeout":1}'), 'E_BAD_BODY IDENTIFY output buffer timeout (1) is invalid')
  t.equal(identifyOutcome('{"msg_timeout":1,"sample_rate":100,"output_buffer_size":1}'), 'E_BAD_BODY IDENTIFY output buffer size (1) is invalid')
  t.equal(identifyOutcome('{"msg_timeout":1,"sample_rate":-1}'), 'E_BAD_BODY IDENTIFY sample rate (-1) is invalid')
  t.equal(identifyOutcome('{"msg_timeout":900001}'), 'E_BAD_BODY IDENTIFY msg timeout (900001) is invalid')
  t.equal(identifyOutcome('{"heartbeat_interval":60001}'), 'E_BAD_BODY IDENTIFY heartbeat interval (60001) is invalid')
  t.equal(identifyOutcome('{"output_buffer_timeout":24}'), 'E_BAD_BODY IDENTIFY output buffer timeout (24) is invalid')
  t.equal(identifyOutcome('{"output_buffer_size":65537}'), 'E_BAD_BODY IDENTIFY output buffer size (65537) is invalid')
  t.equal(identifyOutcome('{"heartbeat_interval":-1,"output_buffer_timeout":-1,"output_buffer_size":-1,"sample_rate":99,"msg_timeout":1000}'), 'ok')

  // 0 keeps the connection's current value (a second IDENTIFY keeps the first one's settings)
  const opts = defaultOptions()
  const cur: IdentifySettings = { heartbeatIntervalMs: 5000, outputBufferSize: 100, outputBufferTimeoutMs: 40, sampleRate: 3, msgTimeoutMs: 7000 }
  t.same(validateIdentify(identifyDefaults(), opts, cur), { ...cur, sampleRate: 0 })
  t.same(validateIdentify({ ...identifyDefaults(), output_buffer_size: -1, heartbeat_interval: -1 }, opts, cur),
    { heartbeatIntervalMs: -1, outputBufferSize: 1, outputBufferTimeoutMs: 0, sampleRate: 0, msgTimeoutMs: 7000 })
  // a huge deflate_level is capped like any other
  const n = negotiate({ ...identifyDefaults(), deflate: true, deflate_level: 9223372036854775807n }, opts, { tls: false, deflate: true, snappy: true })
  t.equal(n.deflateLevel, opts.maxDeflateLevel)
  t.equal(negotiate({ ...identifyDefaults(), deflate: true, deflate_level: -9223372036854775808n }, opts, { tls: false, deflate: true, snappy: true }).deflateLevel, 6)
})

t.test('the body must be one JSON object (or null), valid throughout, nothing after it', async (t) => {
  for (const body of ['[]', '"x"', '1', 'true', 'false', '', ' ', '[{"client_id":"a"}]']) {
    t.equal(dec(body), null, JSON.stringify(body))
  }
  for (const body of ['{} x', '{}{}', '{},', 'null null', '{}\u0000', '\ufeff{}', '{}\u00a0']) {
    t.equal(dec(body), null, `trailing or leading data ${JSON.stringify(body)}`)
  }
  t.same(dec(' \r\n\t{ "client_id" : "a" , "hostname":"b" } \r\n\t'), { ...identifyDefaults(), client_id: 'a', hostname: 'b' })
  for (const body of [
    '{not json', '{', '{"client_id":"a"', '{"client_id":"a",}', '{,}', "{'client_id':'a'}", '{"client_id" "a"}',
    '{"client_id":"a" "hostname":"b"}', '{client_id:"a"}', '{"x":[1,]}', '{"x":[1 2]}', '{"x":{"a"}}', '{"x":{"a":1,}}',
    '{"x":{"a":1]}', '{"x":[1}', '{"x":tru}', '{"x":True}', '{"x":nul}', '{"x":NaN}', '{"x":Infinity}', '{"x":01}',
    '{"x":-}', '{"x":1.}', '{"x":.5}', '{"x":+1}', '{"x":1e}', '{"x":1e+}', '{"x":0x10}', '{"x":"\\q"}',
    '{"x":"a\u0001"}', '{"x":"unterminated}', '{"x":undefined}', '{"msg_timeout":01}', '{"msg_timeout":-}'
  ]) {
    t.equal(dec(body), null, body)
  }
  t.equal(identifyOutcome('{not json'), DECODE_FAILED)
})

t.test('nesting: at most 10,000 open containers, the top-level object included', async (t) => {
  const nested = (n: number, open: string, close: string): string => `{"x":${open.repeat(n)}${close.repeat(n)}}`
  t.same(dec(nested(MAX_NESTING_DEPTH - 1, '[', ']')), identifyDefaults())
  t.equal(dec(nested(MAX_NESTING_DEPTH, '[', ']')), null)
  const objs = (n: number): string => '{"x":' + '{"a":'.repeat(n - 1) + '{}' + '}'.repeat(n - 1) + '}'
  t.same(dec(objs(MAX_NESTING_DEPTH - 1)), identifyDefaults())
  t.equal(dec(objs(MAX_NESTING_DEPTH)), null)
  // a broken deep value still fails
  t.equal(dec('{"x":' + '['.repeat(100) + ']'.repeat(99) + '}'), null)
  // siblings after a deep value are still read
  t.equal(dec('{"x":' + '[{"y":'.repeat(50) + '0' + '}]'.repeat(50) + ',"client_id":"after"}')?.client_id, 'after')
})

t.test('random documents: accepted exactly when JSON.parse accepts an object or null (keys naming no field)', async (t) => {
  let seed = 7
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n }
  const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)] as T
  const scalars = ['0', '-0', '12', '-3.25', '1e5', '2E-3', '0.5e+2', 'true', 'false', 'null', '""', '"a b"', '"\\u00e9\\n"', '"\u00e9"', '"\\ud800"']
  const keys = ['"a"', '"b c"', '"\\u0041"', '"k\u00e9y"', '"x_id"', '""']
  const value = (depth: number): string => {
    const r = rnd(depth > 3 ? 1 : 4)
    if (r === 0 || r === 3) return pick(scalars)
    const n = rnd(4)
    const items: string[] = []
    for (let i = 0; i < n; i++) items.push(r === 1 ? value(depth + 1) : `${pick(keys)}${pick(['', ' '])}:${pick(['', ' '])}${value(depth + 1)}`)
    return r === 1 ? `[${items.join(',')}]` : `{${items.join(', ')}}`
  }
  let accepted = 0
  let rejected = 0
  for (let k = 0; k < 4000; k++) {
    let b = Buffer.from(rnd(10) === 0 ? value(1) : `{${Array.from({ length: rnd(4) }, () => `${pick(keys)}:${value(1)}`).join(',')}}`)
    if (rnd(2) === 0 && b.length > 0) {
      // one mutation: replace, drop or insert a byte
      const at = rnd(b.length)
      const byte = rnd(3) === 0 ? rnd(256) : (pick([...'{}[]":,\\ -.e0tfn']) as string).charCodeAt(0)
      const m = rnd(3)
      b = m === 0 ? Buffer.concat([b.subarray(0, at), Buffer.from([byte]), b.subarray(at + 1)])
        : m === 1 ? Buffer.concat([b.subarray(0, at), b.subarray(at + 1)])
          : Buffer.concat([b.subarray(0, at), Buffer.from([byte]), b.subarray(at)])
    }
    let want = false
    try {
      const v: unknown = JSON.parse(b.toString('latin1'))
      want = v === null || (typeof v === 'object' && !Array.isArray(v))
    } catch {}
    const got = decodeIdentifyJson(b)
    if ((got !== null) !== want) t.fail(`${want ? 'rejected' : 'accepted'} ${JSON.stringify(b.toString('latin1'))}`)
    if (got === null) rejected++
    else { accepted++; if (got.client_id !== '') t.fail('no key names a field') }
  }
  t.ok(accepted > 500 && rejected > 500, `both outcomes exercised (${accepted} accepted, ${rejected} rejected)`)
})

t.test('client/wire/go-unmarshal: the shared decoder with another field set, and []string', async (t) => {
  const s = new GoStruct({ name: 'string', port: 'int64', small: 'int32', on: 'bool' })
  t.same(s.defaults(), { name: '', port: 0, small: 0, on: false })
  t.same(s.decode(Buffer.from('{"NAME":"a","Port":9223372036854775807,"small":-2147483648,"on":true,"x":[{}]}')),
    { name: 'a', port: 9223372036854775807n, small: -2147483648, on: true })
  t.equal(s.decode(Buffer.from('{"small":2147483648}')), null, 'int32 range')
  t.equal(s.decode(Buffer.from('{"port":1.0}')), null)
  t.same(s.decode(Buffer.from('{"name":"a","name":null}')), { ...s.defaults(), name: 'a' })
  t.equal(s.fieldForKey('NAME')?.name, 'name')
  t.equal(s.fieldForKey('\u212a'), undefined)
  const kinds = new GoStruct({ kind: 'string' })
  t.equal(kinds.decode(Buffer.from('{"\u212aIND":"kelvin"}'))?.kind, 'kelvin', 'U+212A folds to k')

  const dec = (body: string | Buffer, cur: string[] = []): unknown => decodeGoStringSlice(typeof body === 'string' ? Buffer.from(body) : body, cur)
  t.same(dec('["a","b"]'), ['a', 'b'])
  t.same(dec(' [ ] '), [])
  t.equal(dec('null'), null, 'a nil slice')
  t.same(dec('[null,"x",null]', ['old0', 'old1', 'old2']), ['old0', 'x', 'old2'], 'null keeps the element Go decodes over')
  t.same(dec('[null]'), [''])
  for (const bad of ['', '[', '["a",]', '[1]', '["a" "b"]', '{}', '"a"', '[[]]', '["a"]]', '[true]']) t.equal(dec(bad), SLICE_DECODE_FAILED, JSON.stringify(bad))
  const raw = Buffer.concat([Buffer.from('["a'), Buffer.from([0xff, 0xe2, 0x82]), Buffer.from('\\ud800","\\u00e9"]')])
  t.same(dec(raw), ['a\ufffd\ufffd\ufffd\ufffd', '\u00e9'], 'one U+FFFD per invalid byte, lone surrogate escape U+FFFD')
})
