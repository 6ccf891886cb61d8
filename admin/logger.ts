// nsqadmin's levelled logger (debug, info, warn, error, fatal), lines shaped like NSQ's:
// "[nsqadmin] 2026/01/02 15:04:05.000000 INFO: HTTP: listening on 0.0.0.0:4171".
// Injected through Options; tests pass a capturing one.

export const LOG_LEVELS = { debug: 1, info: 2, warn: 3, error: 4, fatal: 5 } as const

export interface Logger {
  debug (msg: string): void
  info (msg: string): void
  warn (msg: string): void
  error (msg: string): void
  fatal (msg: string): void
}

/** Parses a --log-level value (case-insensitive); throws naming the flag. */
export function parseLogLevel (name: string): number {
  const lvl = (LOG_LEVELS as Record<string, number>)[name.toLowerCase()]
  if (lvl === undefined) throw new Error(`--log-level must be one of debug, info, warn, error, fatal (got "${name}")`)
  return lvl
}

function stamp (d: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0')
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}000`
}

/** `level` is a name, or a function returning the current name (runtime changes via /config). */
export function createLogger (prefix: string, level: string | (() => string), write: (line: string) => void = (l) => { process.stderr.write(l) }): Logger {
  const fixed = typeof level === 'string' ? parseLogLevel(level) : 0
  const current = typeof level === 'string' ? () => fixed : () => parseLogLevel(level())
  const make = (lvl: number, tag: string) => (msg: string): void => {
    if (lvl >= current()) write(`${prefix}${stamp(new Date())} ${tag}: ${msg}\n`)
  }
  return {
    debug: make(1, 'DEBUG'),
    info: make(2, 'INFO'),
    warn: make(3, 'WARNING'),
    error: make(4, 'ERROR'),
    fatal: make(5, 'FATAL')
  }
}

/** Keeps lines in memory; tests print them only when something failed. */
export function createCapturingLogger (levelName = 'debug'): Logger & { lines: string[] } {
  const lines: string[] = []
  return Object.assign(createLogger('[nsqadmin] ', levelName, (l) => { lines.push(l) }), { lines })
}
