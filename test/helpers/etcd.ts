// A private etcd for one test file: Debian's etcd-server on free loopback ports and a temporary
// data directory, ready once GET /health says "health":"true", stopped by its PID.

import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

export const ETCD_BIN = '/usr/bin/etcd'

export interface LocalEtcd {
  proc: ChildProcess
  endpoint: string
  /** kill -9 (a dead etcd); resolves when the process is gone. */
  kill: () => Promise<void>
  /** SIGSTOP / SIGCONT: an etcd that does not answer. */
  pause: () => void
  resume: () => void
}

interface TapLike { teardown (fn: () => unknown): void }

/** A free loopback port (bound on port 0, then released). */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => { resolve(port) })
    })
  })
}

export async function startEtcd (t: TapLike, timeoutMs = 15000): Promise<LocalEtcd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsq-etcd-'))
  const client = await freePort()
  const peer = await freePort()
  const c = `http://127.0.0.1:${client}`
  const p = `http://127.0.0.1:${peer}`
  const proc = spawn(ETCD_BIN, ['--name', 't', '--data-dir', path.join(dir, 'data'),
    '--listen-client-urls', c, '--advertise-client-urls', c, '--listen-peer-urls', p,
    '--initial-advertise-peer-urls', p, '--initial-cluster', `t=${p}`], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  proc.stderr!.on('data', (b: Buffer) => { if (err.length < 20000) err += b.toString() })
  const exited = new Promise<void>((resolve) => { proc.once('exit', () => { resolve() }) })
  const kill = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid!, 'SIGKILL')
    await exited
  }
  t.teardown(async () => {
    if (proc.signalCode === 'SIGSTOP') process.kill(proc.pid!, 'SIGCONT')
    await kill()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  const deadline = Date.now() + timeoutMs
  while (true) {
    try {
      const res = await fetch(`${c}/health`, { signal: AbortSignal.timeout(1000) })
      const body = await res.text()
      if (body.includes('"health":"true"')) break
    } catch {}
    if (proc.exitCode !== null) throw new Error(`etcd exited ${proc.exitCode}: ${err.slice(-2000)}`)
    if (Date.now() > deadline) throw new Error(`etcd did not become healthy: ${err.slice(-2000)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    proc,
    endpoint: `127.0.0.1:${client}`,
    kill,
    pause: () => { process.kill(proc.pid!, 'SIGSTOP') },
    resume: () => { process.kill(proc.pid!, 'SIGCONT') }
  }
}

/** Polls `check` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function waitFor<T> (what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (true) {
    const v = await check()
    if (v !== undefined && v !== false) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}
