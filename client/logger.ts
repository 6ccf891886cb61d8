// The library's logger seam: a levelled logger with NSQ-style tags in the text. The default writes
// warnings and errors to stderr; pass `logger` to route or silence them.

export interface Logger {
  debug (msg: string): void
  info (msg: string): void
  warn (msg: string): void
  error (msg: string): void
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'none'

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, none: 4 }

export function consoleLogger (level: LogLevel = 'warn', prefix = ''): Logger {
  const at = RANK[level]
  const out = (lvl: LogLevel, tag: string) => (msg: string): void => {
    if (RANK[lvl] >= at) process.stderr.write(`${prefix}${tag} ${msg}\n`)
  }
  return { debug: out('debug', 'DBG'), info: out('info', 'INF'), warn: out('warn', 'WRN'), error: out('error', 'ERR') }
}

export const silentLogger: Logger = { debug () {}, info () {}, warn () {}, error () {} }
