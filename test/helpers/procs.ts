// Daemons as separate processes for end-to-end tests: started through tsx on port 0, their
// addresses read from the start-up line ("... listening tcp=H:P http=H:P"), stopped by PID.

import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

export interface Daemon {
  proc: ChildProcess
  tcp: string
  http: string
  output: () => string
  stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

interface TapLike { teardown (fn: () => unknown): void }

export async function spawnDaemon (t: TapLike, entry: string, args: string[], timeoutMs = 15000): Promise<Daemon> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, entry), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  proc.stdout!.on('data', (c: Buffer) => { out += c.toString() })
  proc.stderr!.on('data', (c: Buffer) => { out += c.toString() })
  const exited = new Promise<number | null>((resolve) => { proc.once('exit', (code) => { resolve(code) }) })
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
    return await exited
  }
  t.teardown(async () => { await stop('SIGKILL') })
  const started = Date.now()
  while (true) {
    const m = /listening tcp=(\S+)(?: http=(\S+))?/.exec(out) ?? /listening http=(\S+)/.exec(out)
    if (m !== null) {
      const tcp = m[0].includes('tcp=') ? m[1]! : ''
      const http = m[0].includes('tcp=') ? (m[2] ?? '') : m[1]!
      return { proc, tcp, http, output: () => out, stop }
    }
    if (proc.exitCode !== null) throw new Error(`${entry} exited ${proc.exitCode}: ${out}`)
    if (Date.now() - started > timeoutMs) throw new Error(`${entry} did not start: ${out}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

export async function getJson (url: string): Promise<any> {
  const res = await fetch(url)
  const text = await res.text()
  try { return JSON.parse(text) } catch { return text }
}
