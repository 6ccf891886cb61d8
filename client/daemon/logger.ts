// The daemons' levelled logger (nsqd, nsqlookupd, nsqadmin). Lines look like NSQ's:
// "[nsqd] 2026/01/02 15:04:05.000000 INFO: TOPIC(orders): created". Levels use NSQ's numbering
// (1 = debug … 5 = fatal), which is also what /config/log_level reports.

export const LOG_LEVELS = { debug: 1, info: 2, warn: 3, error: 4, fatal: 5 } as const
export type LogLevelName = keyof typeof LOG_LEVELS

export interface Logger {
  /** The current level (1..5). */
  readonly level: number
  /** Changes the level at run time (PUT /config/log_level); optional for injected loggers. */
  setLevel? (name: string): void
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

/**
 * `level` is a name, or a function returning the current name (a daemon whose options change at
 * run time). Nothing is formatted for a level that is off.
 */
export function createLogger (prefix: string, level: string | (() => string), write: (line: string) => void = (l) => { process.stderr.write(l) }): Logger {
  let fixed = typeof level === 'string' ? parseLogLevel(level) : 0
  const current = typeof level === 'string' ? () => fixed : () => parseLogLevel(level())
  const make = (lvl: number, tag: string) => (msg: string): void => {
    if (lvl >= current()) write(`${prefix}${stamp(new Date())} ${tag}: ${msg}\n`)
  }
  return {
    get level () { return current() },
    setLevel: (name: string) => { fixed = parseLogLevel(name) },
    debug: make(1, 'DEBUG'),
    info: make(2, 'INFO'),
    warn: make(3, 'WARNING'),
    error: make(4, 'ERROR'),
    fatal: make(5, 'FATAL')
  }
}

/** Keeps lines in memory; tests print them only when something failed. */
export function createCapturingLogger (prefix: string, levelName = 'debug'): Logger & { lines: string[] } {
  const lines: string[] = []
  return Object.assign(createLogger(prefix, levelName, (l) => { lines.push(l) }), { lines })
}
