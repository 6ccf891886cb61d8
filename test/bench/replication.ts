// Replication benchmark (issue 15): a replicated group of 3 nsqd processes (--min-insync-replicas=2)
// beside a single node in the same durable mode (--mem-queue-size=0 --sync-every=1, which
// replication implies), same machine, one run each. Cases: MPUB 100 B x200 (2 connections, 8 in
// flight each) and one publish in flight (MPUB of 1). Also the peak RSS of every process.
// Needs /usr/bin/etcd (started on free loopback ports, stopped by PID).
// Run: npx tsx test/bench/replication.ts [--seconds N]

import type { ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { freePort, startEtcd, waitFor } from '../helpers/etcd.js'
import { startNsqdProcess, type NsqdProcess, runLoadWorkers, type LoadResult } from './spawn.js'

const argv = process.argv.slice(2)
const seconds = argv.includes('--seconds') ? Number(argv[argv.indexOf('--seconds') + 1]) : 6

type Result = LoadResult

const cleanups: Array<() => unknown> = []
const teardown = { teardown: (fn: () => unknown) => { cleanups.push(fn) } }


const workers = async (n: number, args: string[]): Promise<Result> => await runLoadWorkers('disk-load-worker', n, args)

function report (name: string, r: Result): number {
  const rate = r.msgs / (r.ms / 1000)
  process.stdout.write(`${name.padEnd(48)} ${Math.round(rate).toLocaleString('en-US').padStart(9)} msgs/s   (${r.msgs.toLocaleString('en-US')} in ${(r.ms / 1000).toFixed(1)} s)\n`)
  return rate
}

function peakRssMiB (p: ChildProcess): string {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${p.pid}/status`, 'utf8'))
    return m === null ? '?' : `${Math.round(Number(m[1]) / 1024)} MiB`
  } catch { return '?' }
}

async function stop (p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return
  const exited = new Promise((resolve) => p.once('exit', resolve))
  p.kill('SIGKILL')
  await exited
}

async function cases (label: string, tcp: string): Promise<[number, number]> {
  const mpub = report(`${label}: MPUB 100 B x200 (2 conns, 8 in flight)`, await workers(2, ['mpub', tcp, 'bench', '100', String(seconds), '1', '200', '8']))
  const one = report(`${label}: one publish in flight`, await workers(1, ['mpub', tcp, 'bench1', '100', String(seconds), '1', '1', '1']))
  return [mpub, one]
}

async function info (http: string): Promise<any> {
  try {
    const r = await fetch(`http://${http}/info`, { signal: AbortSignal.timeout(1000) })
    return ((await r.json()) as { replication?: unknown }).replication ?? null
  } catch { return null }
}

try {
  // single node, durable
  const single = await startNsqdProcess(['--mem-queue-size=0', '--sync-every=1'])
  const [mpub1, one1] = await cases('single node (durable)', single.tcp)
  process.stdout.write(`single node peak RSS ${peakRssMiB(single.proc)}\n`)
  await stop(single.proc)
  fs.rmSync(single.dir, { recursive: true, force: true })

  // group of 3, min-insync 2
  const etcd = await startEtcd(teardown)
  const nodes: NsqdProcess[] = []
  for (let i = 0; i < 3; i++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsq-bench-repl-'))
    cleanups.push(() => { fs.rmSync(dir, { recursive: true, force: true }) })
    const n = await startNsqdProcess([`--tcp-address=127.0.0.1:${await freePort()}`, `--http-address=127.0.0.1:${await freePort()}`,
      `--replication-address=127.0.0.1:${await freePort()}`, '--broadcast-address=127.0.0.1', '--replication-group=bench',
      '--replication-factor=3', '--min-insync-replicas=2', `--etcd-endpoints=${etcd.endpoint}`], dir)
    cleanups.push(async () => { await stop(n.proc) })
    nodes.push(n)
    if (i === 0) await waitFor('a primary', async () => (await info(n.http))?.role === 'primary', 15000, 50)
  }
  const primary = nodes[0]!
  await waitFor('two standbys in sync', async () => ((await info(primary.http))?.standbys ?? []).filter((s: { in_sync: boolean }) => s.in_sync).length === 2, 15000, 50)
  const [mpub3, one3] = await cases('group of 3, min-insync 2', primary.tcp)
  process.stdout.write(`group peak RSS: primary ${peakRssMiB(primary.proc)}, standbys ${peakRssMiB(nodes[1]!.proc)}, ${peakRssMiB(nodes[2]!.proc)}\n`)
  process.stdout.write(`replicated / single: MPUB ${(mpub3 / mpub1 * 100).toFixed(0)} %, one in flight ${(one3 / one1 * 100).toFixed(0)} % ` +
    `(round trip ${(1000 / one1).toFixed(2)} ms -> ${(1000 / one3).toFixed(2)} ms)\n`)
} finally {
  for (const fn of cleanups.reverse()) await fn()
}
