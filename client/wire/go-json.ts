// JSON as Go's json.Marshal writes it (nsqd-http.md §2), for every JSON answer of nsqd, nsqlookupd
// and nsqadmin: `<`, `>`, `&` become \u003c, \u003e, \u0026; U+2028 and U+2029 become \u2028 and
// \u2029; control characters other than \n, \r, \t become \u00XX (Go before 1.22 has no \b or \f);
// a lone surrogate (what a JS string holds where Go would hold invalid UTF-8) becomes \ufffd.
//
// JSON.stringify does everything else the same way, so its output is fixed up afterwards: a few
// indexOf scans (memchr speed, ~0.01 ms for the 650 KiB /stats of 1,000 topics; a regex test costs
// 20 times that), and a replace only when something needs it. Outside strings JSON
// has none of these characters, and a backslash in the output always starts an escape, so matching
// `\\` as a pair keeps `\\b` (an escaped backslash, then b) from being read as `\b`.

const FIX = /[<>&\u2028\u2029]|\\(?:\\|[bf]|ud[89a-f][0-9a-f]{2})/g

function fix (m: string): string {
  switch (m) {
    case '<': return '\\u003c'
    case '>': return '\\u003e'
    case '&': return '\\u0026'
    case '\u2028': return '\\u2028'
    case '\u2029': return '\\u2029'
    case '\\\\': return m
    case '\\b': return '\\u0008'
    case '\\f': return '\\u000c'
    default: return '\\ufffd'
  }
}

function needsFix (s: string): boolean {
  return s.indexOf('\\') >= 0 || s.indexOf('<') >= 0 || s.indexOf('>') >= 0 || s.indexOf('&') >= 0 ||
    s.indexOf('\u2028') >= 0 || s.indexOf('\u2029') >= 0
}

// What JSON.stringify writes differently from Go (a surrogate pair matches too: a false alarm
// only costs the fix-up pass)
const DIFFERS = /[<>&\u2028\u2029\b\f\ud800-\udfff]/

/** Whether JSON.stringify would write the string `s` differently from Go's json.Marshal. */
export function differsFromGo (s: string): boolean {
  return DIFFERS.test(s)
}

/**
 * Go's json.Marshal of `value` (undefined, which Go has no form of, gives `null`). `checked`: the
 * caller has run differsFromGo on every string in `value` (keys included) and none differs, so the
 * output needs no scan; a large document built from known-safe parts (/stats) saves a pass.
 */
export function goJson (value: unknown, checked = false): string {
  const s = JSON.stringify(value) as string | undefined
  if (s === undefined) return 'null'
  return !checked && needsFix(s) ? s.replace(FIX, fix) : s
}
