// A Go-flag-compatible command-line parser: `-name value`, `-name=value`, `--name value`,
// `--name=value`, bare booleans (`-flag`, `-flag=false`), repeatable flags, Go durations,
// parsing stops at `--` or at the first non-flag argument. Help text is printed Go-style.
// It is shared by every binary of the project (nsqd, nsqlookupd, nsqadmin, the tools).

import { parseDuration, formatDuration } from './duration.js'

export type FlagKind = 'string' | 'int' | 'float' | 'bool' | 'duration' | 'strings' | 'floats'

export interface FlagSpec {
  /** Flag name as NSQ spells it, without dashes: "tcp-address". */
  name: string
  kind: FlagKind
  /** Default value: string, number (ms for durations), boolean or string[] / number[]. */
  default: string | number | boolean | string[] | number[]
  usage: string
  /** Config-file key when it differs from the flag name with '-' → '_'. */
  configKey?: string
}

export type FlagValues = Record<string, string | number | boolean | string[] | number[]>

export interface ParsedFlags {
  values: FlagValues
  /** Names of flags given explicitly on the command line. */
  explicit: Set<string>
  /** Arguments after the flags. */
  rest: string[]
  help: boolean
}

export class FlagError extends Error {
  override name = 'FlagError'
}

function cloneDefault (v: FlagSpec['default']): FlagSpec['default'] {
  return Array.isArray(v) ? [...v] as string[] | number[] : v
}

export function defaultsOf (specs: readonly FlagSpec[]): FlagValues {
  const out: FlagValues = {}
  for (const s of specs) out[s.name] = cloneDefault(s.default)
  return out
}

/** Converts one textual value for a flag; throws a FlagError with Go's wording. */
export function convertFlagValue (spec: FlagSpec, raw: string): string | number | boolean {
  const bad = (why: string): never => {
    throw new FlagError(`invalid value "${raw}" for flag -${spec.name}: ${why}`)
  }
  switch (spec.kind) {
    case 'string':
    case 'strings':
      return raw
    case 'int': {
      if (!/^[+-]?\d+$/.test(raw.trim())) bad('parse error')
      return Number(raw)
    }
    case 'float':
    case 'floats': {
      const n = Number(raw)
      if (raw.trim() === '' || !Number.isFinite(n)) bad('parse error')
      return n
    }
    case 'bool': {
      const v = raw.toLowerCase()
      if (v === '1' || v === 't' || v === 'true') return true
      if (v === '0' || v === 'f' || v === 'false') return false
      return bad('parse error')
    }
    case 'duration':
      try {
        return parseDuration(raw)
      } catch {
        return bad('parse error')
      }
  }
}

function assign (values: FlagValues, spec: FlagSpec, raw: string, seen: Set<string>): void {
  const v = spec.kind === 'floats' ? raw : convertFlagValue(spec, raw)
  if (spec.kind === 'strings' || spec.kind === 'floats') {
    // Repeatable: the first explicit value replaces the default; comma-separated lists are split.
    const prev = seen.has(spec.name) ? (values[spec.name] as Array<string | number>) : []
    const parts = typeof v === 'string' ? v.split(',').filter((p) => p !== '') : [v]
    if (spec.kind === 'floats') {
      for (const p of String(raw).split(',')) {
        if (p === '') continue
        prev.push(convertFlagValue(spec, p) as number)
      }
    } else {
      for (const p of parts) prev.push(p as string)
    }
    values[spec.name] = prev as string[] | number[]
  } else {
    values[spec.name] = v
  }
  seen.add(spec.name)
}

export function parseFlags (specs: readonly FlagSpec[], argv: readonly string[]): ParsedFlags {
  const byName = new Map<string, FlagSpec>()
  for (const s of specs) byName.set(s.name, s)
  const values = defaultsOf(specs)
  const explicit = new Set<string>()
  let help = false
  let i = 0
  for (; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--') { i++; break }
    if (arg.length < 2 || arg[0] !== '-') break
    let body = arg[1] === '-' ? arg.slice(2) : arg.slice(1)
    if (body === '' || body[0] === '-' || body[0] === '=') throw new FlagError(`bad flag syntax: ${arg}`)
    let value: string | undefined
    const eq = body.indexOf('=')
    if (eq >= 0) {
      value = body.slice(eq + 1)
      body = body.slice(0, eq)
    }
    const spec = byName.get(body)
    if (spec === undefined) {
      if (body === 'h' || body === 'help') { help = true; continue }
      throw new FlagError(`flag provided but not defined: -${body}`)
    }
    if (spec.kind === 'bool') {
      assign(values, spec, value ?? 'true', explicit)
      continue
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: -${body}`)
      value = argv[++i] as string
    }
    assign(values, spec, value, explicit)
  }
  return { values, explicit, rest: argv.slice(i), help }
}

/** Merges config-file values (already parsed) under explicit command-line flags. */
export function applyConfig (specs: readonly FlagSpec[], parsed: ParsedFlags, config: Record<string, unknown>): void {
  for (const spec of specs) {
    if (parsed.explicit.has(spec.name)) continue
    const key = spec.configKey ?? spec.name.replace(/-/g, '_')
    if (!(key in config)) continue
    const raw = config[key]
    const seen = new Set<string>()
    if (Array.isArray(raw)) {
      for (const item of raw) assign(parsed.values, spec, String(item), seen)
    } else if (spec.kind === 'int' && typeof raw === 'number') {
      parsed.values[spec.name] = raw
    } else {
      assign(parsed.values, spec, String(raw), seen)
    }
  }
}

function showDefault (spec: FlagSpec): string {
  const d = spec.default
  if (spec.kind === 'bool') return d === true ? ' (default true)' : ''
  if (spec.kind === 'duration') return d === 0 ? '' : ` (default ${formatDuration(d as number)})`
  if (spec.kind === 'strings' || spec.kind === 'floats') {
    return (d as unknown[]).length > 0 ? ` (default ${(d as unknown[]).join(',')})` : ''
  }
  if (spec.kind === 'string') return d === '' ? '' : ` (default "${String(d)}")`
  return d === 0 ? '' : ` (default ${String(d)})`
}

/** Go flag.PrintDefaults-style usage text. */
export function formatHelp (program: string, specs: readonly FlagSpec[]): string {
  const typeName: Record<FlagKind, string> = {
    string: 'string', int: 'int', float: 'float', bool: '', duration: 'duration', strings: 'value', floats: 'value'
  }
  const lines = [`Usage of ${program}:`]
  for (const s of [...specs].sort((a, b) => a.name.localeCompare(b.name))) {
    const t = typeName[s.kind]
    lines.push(`  -${s.name}${t ? ' ' + t : ''}`)
    lines.push(`    \t${s.usage}${showDefault(s)}`)
  }
  return lines.join('\n') + '\n'
}

/**
 * A TOML subset for --config files: `key = value` lines with strings, numbers, booleans and
 * arrays of those, comments, and [sections] (ignored: NSQ's files are flat).
 */
export function parseTomlSubset (text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const lines = text.split(/\r?\n/)
  for (let n = 0; n < lines.length; n++) {
    let line = stripComment(lines[n] as string).trim()
    if (line === '' || line.startsWith('[')) continue
    const eq = line.indexOf('=')
    if (eq < 0) throw new Error(`config line ${n + 1}: expected key = value`)
    const key = line.slice(0, eq).trim().replace(/^"(.*)"$/, '$1')
    let value = line.slice(eq + 1).trim()
    // multi-line arrays
    while (value.startsWith('[') && !balanced(value) && n + 1 < lines.length) {
      value += ' ' + stripComment(lines[++n] as string).trim()
    }
    line = value
    out[key] = parseTomlValue(line, n + 1)
  }
  return out
}

function balanced (s: string): boolean {
  let depth = 0
  let inStr: string | null = null
  for (const ch of s) {
    if (inStr) { if (ch === inStr) inStr = null; continue }
    if (ch === '"' || ch === "'") inStr = ch
    else if (ch === '[') depth++
    else if (ch === ']') depth--
  }
  return depth === 0
}

function stripComment (line: string): string {
  let inStr: string | null = null
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]
    if (inStr) { if (ch === '\\' && inStr === '"') { i++; continue } if (ch === inStr) inStr = null; continue }
    if (ch === '"' || ch === "'") inStr = ch
    else if (ch === '#') return line.slice(0, i)
  }
  return line
}

function parseTomlValue (v: string, lineNo: number): unknown {
  if (v.startsWith('[')) {
    const inner = v.slice(1, v.lastIndexOf(']')).trim()
    if (inner === '') return []
    const items: unknown[] = []
    let cur = ''
    let inStr: string | null = null
    for (const ch of inner) {
      if (inStr) { cur += ch; if (ch === inStr) inStr = null; continue }
      if (ch === '"' || ch === "'") { inStr = ch; cur += ch; continue }
      if (ch === ',') { if (cur.trim() !== '') items.push(parseTomlValue(cur.trim(), lineNo)); cur = ''; continue }
      cur += ch
    }
    if (cur.trim() !== '') items.push(parseTomlValue(cur.trim(), lineNo))
    return items
  }
  if (v.startsWith('"')) return JSON.parse(v)
  if (v.startsWith("'")) return v.slice(1, -1)
  if (v === 'true') return true
  if (v === 'false') return false
  const num = Number(v.replace(/_/g, ''))
  if (v !== '' && Number.isFinite(num)) return num
  throw new Error(`config line ${lineNo}: cannot parse value ${v}`)
}
