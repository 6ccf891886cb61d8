// The shared entry-point skeleton of the daemons: flags (Go syntax) > --config TOML file > defaults,
// --help and --version, start, one machine-readable "<name> listening ..." line on stdout, and a
// clean close on SIGINT/SIGTERM. Each daemon's main.ts only says how to build and start itself.

import fs from 'node:fs'
import { FlagError, applyConfig, formatHelp, parseFlags, parseTomlSubset, type FlagSpec, type FlagValues } from '../wire/flags.js'

export interface DaemonSpec<D> {
  name: string
  version: string
  flags: readonly FlagSpec[]
  /** Builds the daemon from the merged flag values (throws on a configuration mistake). */
  create (values: FlagValues): D
  start (daemon: D): Promise<void>
  /** The addresses for the start-up line, e.g. "tcp=127.0.0.1:4150 http=127.0.0.1:4151". */
  listening (daemon: D): string
  close (daemon: D): Promise<void>
  /** Optional: log the received signal before closing. */
  onSignal? (daemon: D, signal: string): void
  /**
   * Optional: runs once the daemon is listening; `stop(reason)` closes it cleanly and exits 0, as
   * SIGTERM does (nsqd: the end of a drain, and SIGUSR2 to start one).
   */
  started? (daemon: D, stop: (reason: string) => void): void
}

function fail (msg: string, code = 1): never {
  process.stderr.write(`${msg}\n`)
  process.exit(code)
}

export async function runDaemon<D> (spec: DaemonSpec<D>, argv: string[]): Promise<void> {
  let parsed
  try {
    parsed = parseFlags(spec.flags, argv)
  } catch (err) {
    if (!(err instanceof FlagError)) throw err
    fail(`${err.message}\n${formatHelp(spec.name, spec.flags).trimEnd()}`, 2)
  }
  if (parsed.help) {
    process.stdout.write(formatHelp(spec.name, spec.flags))
    process.exit(0)
  }
  if (parsed.values.version === true) {
    process.stdout.write(`${spec.name} v${spec.version} (built w/node ${process.version})\n`)
    process.exit(0)
  }
  const configPath = String(parsed.values.config ?? '')
  if (configPath !== '') {
    let config: Record<string, unknown>
    try {
      config = parseTomlSubset(fs.readFileSync(configPath, 'utf8'))
    } catch (err) {
      fail(`failed to load config file ${configPath} - ${(err as Error).message}`)
    }
    try {
      applyConfig(spec.flags, parsed, config)
    } catch (err) {
      fail(`config file ${configPath}: ${(err as Error).message}`)
    }
  }
  let daemon: D
  try {
    daemon = spec.create(parsed.values)
  } catch (err) {
    fail(`FATAL: ${(err as Error).message}`)
  }
  try {
    await spec.start(daemon)
  } catch (err) {
    fail(`FATAL: failed to start ${spec.name} - ${(err as Error).message}`)
  }
  process.stdout.write(`${spec.name} listening ${spec.listening(daemon)}\n`)

  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    spec.onSignal?.(daemon, signal)
    spec.close(daemon).then(() => process.exit(0), (err: Error) => { fail(`error while closing - ${err.message}`) })
  }
  process.on('SIGINT', () => { stop('SIGINT') })
  process.on('SIGTERM', () => { stop('SIGTERM') })
  spec.started?.(daemon, stop)
}

/** Runs `runDaemon` as a program: an unexpected error is fatal. */
export function main<D> (spec: DaemonSpec<D>): void {
  runDaemon(spec, process.argv.slice(2)).catch((err: Error) => { fail(`FATAL: ${err.stack ?? err.message}`) })
}
