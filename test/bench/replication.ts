// Replication benchmark (issue 15): a replicated group of 3 nsqd processes (--min-insync-replicas=2)
// beside a single node in the same durable mode (--mem-queue-size=0 --sync-every=1, which
// replication implies), same machine. Cases: MPUB 100 B x200 (2 connections, 8 in
// flight each) and one publish in flight (MPUB of 1), alternated between the two setups for
// --rounds rounds (medians reported). Also the peak RSS of every process.
// Needs /usr/bin/etcd (started on free loopback ports, stopped by PID).
// Run: npx tsx test/bench/replication.ts [--seconds N (per case, 4)] [--rounds N (3)] [--cpu-prof DIR]
// --cpu-prof DIR: every nsqd runs with node --cpu-prof and writes its profiles to DIR/<node> when stopped
// (then stopped with SIGTERM instead of SIGKILL); open the .cpuprofile files in Chrome DevTools.

import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { freePort, startEtcd, waitFor } from '../helpers/etcd.js'
import { startNsqdProcess, type NsqdProcess, runLoadWorkers, type LoadResult } from './spawn.js'

const argv = process.argv.slice(2)
const seconds = argv.includes('--seconds') ? Number(argv[argv.indexOf('--seconds') + 1]) : 4
const rounds = argv.includes('--rounds') ? Number(argv[argv.indexOf('--rounds') + 1]) : 3
const profDir = argv.includes('--cpu-prof') ? path.resolve(argv[argv.indexOf('--cpu-prof') + 1] ?? 'cpu-prof') : ''
const nodeArgs = (name: string): string[] => profDir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${path.join(profDir, name)}`]

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
  p.kill(profDir === '' ? 'SIGKILL' : 'SIGTERM') // a profile is written on a clean exit only
  await exited
}

async function info (http: string): Promise<any> {
  try {
    const r = await fetch(`http://${http}/info`, { signal: AbortSignal.timeout(1000) })
    return ((await r.json()) as { replication?: unknown }).replication ?? null
  } catch { return null }
}

/** User + system CPU seconds a process used so far. */
function cpuSeconds (p: ChildProcess): number {
  try {
    const f = fs.readFileSync(`/proc/${p.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(f[11]) + Number(f[12])) / 100 // utime, stime in clock ticks (USER_HZ = 100)
  } catch { return 0 }
}

/**
 * The reference for the one-in-flight goal: a loopback round trip between two Node processes
 * (100 bytes each way, an echo server in a child process), mean of `n`, in ms.
 */
async function loopbackRoundTripMs (n = 20000): Promise<number> {
  const echo = spawn(process.execPath, ['-e', "const s = require('net').createServer(c => { c.setNoDelay(true); c.on('data', d => c.write(d)) }).listen(0, '127.0.0.1', () => console.log(s.address().port))"], { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    const port = await new Promise<number>((resolve, reject) => {
      echo.stdout!.once('data', (d: Buffer) => { resolve(Number(d.toString().trim())) })
      echo.once('exit', () => { reject(new Error('echo server exited')) })
    })
    const s = net.connect(port, '127.0.0.1')
    s.setNoDelay(true)
    await new Promise((resolve) => s.once('connect', resolve))
    const buf = Buffer.alloc(100, 1)
    let got = 0
    let done = 0
    const t0 = process.hrtime.bigint()
    await new Promise<void>((resolve) => {
      s.on('data', (d: Buffer) => {
        got += d.length
        if (got < buf.length) return
        got -= buf.length
        if (++done === n) resolve()
        else s.write(buf)
      })
      s.write(buf)
    })
    s.destroy()
    return Number(process.hrtime.bigint() - t0) / 1e6 / n
  } finally {
    echo.kill()
  }
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? 0 : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

try {
  // both setups run side by side (an idle nsqd costs nothing) and the cases alternate between them,
  // round after round: a machine whose background load drifts (other jobs on shared cores) then
  // weighs on both alike, and the medians compare like with like
  const single = await startNsqdProcess(['--mem-queue-size=0', '--sync-every=1'], undefined, nodeArgs('single'))
  cleanups.push(async () => { await stop(single.proc); fs.rmSync(single.dir, { recursive: true, force: true }) })

  // group of 3, min-insync 2
  const etcd = await startEtcd(teardown)
  const nodes: NsqdProcess[] = []
  for (let i = 0; i < 3; i++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsq-bench-repl-'))
    cleanups.push(() => { fs.rmSync(dir, { recursive: true, force: true }) })
    const n = await startNsqdProcess([`--tcp-address=127.0.0.1:${await freePort()}`, `--http-address=127.0.0.1:${await freePort()}`,
      `--replication-address=127.0.0.1:${await freePort()}`, '--broadcast-address=127.0.0.1', '--replication-group=bench',
      '--replication-factor=3', '--min-insync-replicas=2', `--etcd-endpoints=${etcd.endpoint}`], dir, nodeArgs(i === 0 ? 'primary' : `standby${i}`))
    cleanups.push(async () => { await stop(n.proc) })
    nodes.push(n)
    if (i === 0) await waitFor('a primary', async () => (await info(n.http))?.role === 'primary', 15000, 50)
  }
  const primary = nodes[0]!
  await waitFor('two standbys in sync', async () => ((await info(primary.http))?.standbys ?? []).filter((s: { in_sync: boolean }) => s.in_sync).length === 2, 15000, 50)

  const r = { mpub1: [] as number[], mpub3: [] as number[], one1: [] as number[], one3: [] as number[] }
  /** CPU seconds per million messages, of the single node and of each group member, in the MPUB case. */
  const cpu = { single: [] as number[], primary: [] as number[], standbys: [] as number[] }
  const measured = async (procs: ChildProcess[], run: () => Promise<Result>): Promise<[Result, number[]]> => {
    const before = procs.map(cpuSeconds)
    const res = await run()
    return [res, procs.map((p, i) => (cpuSeconds(p) - before[i]!) / (res.msgs / 1e6))]
  }
  for (let round = 1; round <= rounds; round++) {
    process.stdout.write(`-- round ${round} of ${rounds}\n`)
    const [s1, c1] = await measured([single.proc], async () => await workers(2, ['mpub', single.tcp, `bench${round}`, '100', String(seconds), '1', '200', '8']))
    r.mpub1.push(report('single node (durable): MPUB 100 B x200 (2 conns, 8 in flight)', s1))
    cpu.single.push(c1[0]!)
    const [s3, c3] = await measured(nodes.map(n => n.proc), async () => await workers(2, ['mpub', primary.tcp, `bench${round}`, '100', String(seconds), '1', '200', '8']))
    r.mpub3.push(report('group of 3, min-insync 2: MPUB 100 B x200 (2 conns, 8 in flight)', s3))
    cpu.primary.push(c3[0]!)
    cpu.standbys.push((c3[1]! + c3[2]!) / 2)
    r.one1.push(report('single node (durable): one publish in flight', await workers(1, ['mpub', single.tcp, `one${round}`, '100', String(seconds), '1', '1', '1'])))
    r.one3.push(report('group of 3, min-insync 2: one publish in flight', await workers(1, ['mpub', primary.tcp, `one${round}`, '100', String(seconds), '1', '1', '1'])))
  }
  const rtt = await loopbackRoundTripMs()
  const ratios = r.mpub3.map((x, i) => `${(x / r.mpub1[i]! * 100).toFixed(0)} %`).join(', ')
  process.stdout.write(`peak RSS: single node ${peakRssMiB(single.proc)}; group primary ${peakRssMiB(primary.proc)}, standbys ${peakRssMiB(nodes[1]!.proc)}, ${peakRssMiB(nodes[2]!.proc)}\n`)
  const [m1, m3, o1, o3] = [median(r.mpub1), median(r.mpub3), median(r.one1), median(r.one3)]
  process.stdout.write(`CPU seconds per million messages (MPUB, medians): single node ${median(cpu.single).toFixed(2)}; group primary ${median(cpu.primary).toFixed(2)}, each standby ${median(cpu.standbys).toFixed(2)}\n`)
  process.stdout.write(`medians of ${rounds} rounds: MPUB single ${Math.round(m1).toLocaleString('en-US')} msgs/s, group ${Math.round(m3).toLocaleString('en-US')} msgs/s: ` +
    `${(m3 / m1 * 100).toFixed(0)} % (per round: ${ratios}); one in flight: round trip ${(1000 / o1).toFixed(2)} ms -> ${(1000 / o3).toFixed(2)} ms (+${(1000 / o3 - 1000 / o1).toFixed(2)} ms; a loopback round trip between two Node processes: ${rtt.toFixed(3)} ms)\n`)
} finally {
  for (const fn of cleanups.reverse()) await fn()
}
