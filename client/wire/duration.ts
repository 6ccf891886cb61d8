// Go duration strings ("250ms", "1m30s", "1h", "1.5s", "0"), parsed to and formatted from milliseconds.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000
}

const PART_RE = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/

/** Parses a Go duration; returns milliseconds, or throws with Go's wording. */
export function parseDuration (text: string): number {
  let s = text
  let sign = 1
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1
    s = s.slice(1)
  }
  if (s === '0') return 0
  if (s === '') throw new Error(`time: invalid duration "${text}"`)
  let total = 0
  while (s.length > 0) {
    const m = PART_RE.exec(s)
    if (m === null) {
      if (/^(\d+(?:\.\d*)?|\.\d+)$/.test(s)) throw new Error(`time: missing unit in duration "${text}"`)
      throw new Error(`time: invalid duration "${text}"`)
    }
    total += Number(m[1]) * (UNIT_MS[m[2]!] as number)
    s = s.slice(m[0].length)
  }
  return sign * total
}

/** Formats milliseconds the way Go prints a time.Duration ("1m0s", "250ms", "1h0m0s", "0s"). */
export function formatDuration (ms: number): string {
  if (ms === 0) return '0s'
  const neg = ms < 0
  let rest = Math.abs(ms)
  let out: string
  if (rest < 1000) {
    if (rest >= 1) out = `${trim(rest)}ms`
    else if (rest >= 1e-3) out = `${trim(rest * 1e3)}µs`
    else out = `${trim(rest * 1e6)}ns`
  } else {
    const h = Math.floor(rest / 3_600_000)
    rest -= h * 3_600_000
    const m = Math.floor(rest / 60_000)
    rest -= m * 60_000
    const s = `${trim(rest / 1000)}s`
    out = h > 0 ? `${h}h${m}m${s}` : m > 0 ? `${m}m${s}` : s
  }
  return neg ? '-' + out : out
}

function trim (n: number): string {
  return String(Number(n.toFixed(9)))
}
