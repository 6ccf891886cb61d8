// Numbers for people: 1.2k, 3.4M, 1.2k/s, 3.4 MB, 2h 5m.

const UNITS = ['', 'k', 'M', 'G', 'T', 'P']

export function num (n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–'
  const neg = n < 0
  let v = Math.abs(n)
  let i = 0
  while (v >= 999.5 && i < UNITS.length - 1) { v /= 1000; i++ }
  let text
  if (i === 0) text = Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1).replace(/\.?0+$/, '')
  else text = (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)).replace(/\.?0+$/, '') + UNITS[i]
  return (neg ? '-' : '') + text
}

export function rate (r) {
  if (r === null || r === undefined || Number.isNaN(r)) return '–'
  if (r > 0 && r < 0.01) return '<0.01/s'
  return `${num(r)}/s`
}

export function bytes (b) {
  if (b === null || b === undefined || Number.isNaN(b)) return '–'
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let v = b
  let i = 0
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++ }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`
}

/** Seconds → "3d 4h", "2h 5m", "4m 12s", "9s". */
export function duration (sec) {
  if (sec === null || sec === undefined || Number.isNaN(sec)) return '–'
  sec = Math.max(0, Math.floor(sec))
  const d = Math.floor(sec / 86400)
  const hh = Math.floor((sec % 86400) / 3600)
  const m = Math.floor((sec % 3600) / 60)
  const s = sec % 60
  if (d > 0) return `${d}d ${hh}h`
  if (hh > 0) return `${hh}h ${m}m`
  if (m > 0) return `${m}m ${s}s`
  return `${s}s`
}

export function ago (unixSeconds) {
  return `${duration(Date.now() / 1000 - unixSeconds)} ago`
}

/** Nanoseconds → "850µs", "12.3ms", "1.2s". */
export function latency (ns) {
  if (ns === null || ns === undefined) return '–'
  if (ns < 1e3) return `${ns.toFixed(0)}ns`
  if (ns < 1e6) return `${(ns / 1e3).toFixed(1)}µs`
  if (ns < 1e9) return `${(ns / 1e6).toFixed(1)}ms`
  return `${(ns / 1e9).toFixed(2)}s`
}

export function full (n) {
  return n === null || n === undefined ? '' : Number(n).toLocaleString('en-US')
}
