// A small levelled logger. Lines look like NSQ's: "[nsqd] 2026/11/22 10:00:00.000000 INFO: TOPIC(x): ..."

export const LOG_LEVELS = { debug: 0, info: 1, warn: 2, error: 3, fatal: 4 } as const
export type LogLevel = keyof typeof LOG_LEVELS

export interface Logger {
  readonly level: number
  /** Changes the level at run time (PUT /config/log_level); optional for injected loggers. */
  setLevel? (name: string): void
  debug (msg: string): void
  info (msg: string): void
  warn (msg: string): void
  error (msg: string): void
  fatal (msg: string): void
}

function stamp (): string {
  const d = new Date()
  const p = (n: number, w = 2): string => String(n).padStart(w, '0')
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}000`
}

export function parseLogLevel (name: string): number {
  const lvl = (LOG_LEVELS as Record<string, number>)[name.toLowerCase()]
  if (lvl === undefined) throw new Error(`invalid log level "${name}": must be debug, info, warn, error or fatal`)
  return lvl
}

export function createLogger (prefix: string, levelName: string, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  let level = parseLogLevel(levelName)
  const out = (tag: string, lvl: number, msg: string): void => {
    if (lvl >= level) write(`${prefix}${stamp()} ${tag}: ${msg}\n`)
  }
  return {
    get level () { return level },
    setLevel: (name: string) => { level = parseLogLevel(name) },
    debug: (m) => out('DEBUG', 0, m),
    info: (m) => out('INFO', 1, m),
    warn: (m) => out('WARNING', 2, m),
    error: (m) => out('ERROR', 3, m),
    fatal: (m) => out('FATAL', 4, m)
  }
}

/** A logger that keeps lines in memory (tests print them only when a test fails). */
export function createCapturingLogger (levelName = 'debug'): Logger & { lines: string[] } {
  const lines: string[] = []
  const l = createLogger('[nsqd] ', levelName, (line) => { lines.push(line) })
  return Object.assign(l, { lines })
}
