// Idle connections benchmark (issue 14): one nsqd (its own process) holding N idle consumers
// (IDENTIFY with a heartbeat interval, SUB, RDY 1; each answers heartbeats with NOP), opened by a
// few worker processes over loopback. Reports nsqd's RSS per connection, the CPU nsqd spends on
// heartbeats (utime + stime from /proc/<pid>/stat over a window, minus the same window before any
// connection), and how punctual heartbeats are (gaps between successive heartbeats seen by clients).
// Bounded: stops by itself (a hard limit kills everything after 5 minutes).
// Run: npx tsx test/bench/connections.ts [--connections N] [--workers N] [--heartbeat-ms N] [--window-s N]
//      [--cpu-prof DIR]   (nsqd writes a V8 CPU profile there; it is stopped with SIGTERM)

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ROOT, nsqdEntry } from './spawn.js'

const argv = process.argv.slice(2)
const arg = (name: string, d: number): number => argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : d
const quick = argv.includes('--quick')
const connections = arg('--connections', quick ? 2000 : 10_000)
const workerCount = arg('--workers', 4)
const heartbeatMs = arg('--heartbeat-ms', 1000)
const windowS = arg('--window-s', quick ? 5 : 10)
const cpuProfDir = argv.includes('--cpu-prof') ? argv[argv.indexOf('--cpu-prof') + 1] : undefined
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100

const children: ChildProcess[] = []
const hardStop = setTimeout(() => {
  process.stderr.write('connections benchmark: hard time limit reached, stopping\n')
  for (const c of children) c.kill('SIGKILL')
  process.exit(1)
}, 5 * 60_000)
hardStop.unref()

/** `cmdline` run with its open-files limit raised to at least `want` where allowed. */
function nofileCommand (want: number, cmdline: string[]): string[] {
  // only ever raised: sh's ulimit sets soft and hard together (root may raise the hard limit); without
  // that privilege, the soft limit goes up to the hard one
  return ['/bin/sh', '-c', 'if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$0" ]; then ulimit -n "$0" 2>/dev/null || ulimit -n "$(ulimit -Hn)"; fi; exec "$@"', String(want), ...cmdline]
}

function maxOpenFiles (pid: number): number {
  const m = /Max open files\s+(\d+|unlimited)/.exec(fs.readFileSync(`/proc/${pid}/limits`, 'utf8'))
  return m === null ? NaN : m[1] === 'unlimited' ? Infinity : Number(m[1])
}

function status (pid: number, field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? NaN : Number(m[1]) / 1024
}

/** utime + stime of a process in seconds. */
function cpuSeconds (pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // fields from 3 (state) on
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK // utime (14), stime (15)
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function cpuOver (pid: number, seconds: number): Promise<number> {
  const c0 = cpuSeconds(pid)
  const t0 = performance.now()
  await sleep(seconds * 1000)
  return (cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000)
}

async function heapMB (httpAddr: string): Promise<number> {
  const res = await fetch(`http://${httpAddr}/stats?format=json&include_clients=false`)
  const doc = await res.json() as { memory: { heap_in_use_bytes: number } }
  return doc.memory.heap_in_use_bytes / 1024 / 1024
}

async function main (): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsq-bench-'))
  const nsqdArgs = [process.execPath, ...(cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${path.resolve(cpuProfDir)}`]), ...nsqdEntry(),
    '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--data-path=${dir}`, '--log-level=warn']
  const nsqdCmd = nofileCommand(connections + 1024, nsqdArgs)
  const nsqd = spawn(nsqdCmd[0]!, nsqdCmd.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(nsqd)
  const { tcp, http } = await new Promise<{ tcp: string, http: string }>((resolve, reject) => {
    let out = ''
    nsqd.stdout!.on('data', (c: Buffer) => {
      out += c.toString()
      const line = /listening (.*)\n/.exec(out)
      if (line !== null) resolve({ tcp: /tcp=(\S+)/.exec(line[1]!)![1]!, http: /http=(\S+)/.exec(line[1]!)![1]! })
    })
    nsqd.once('exit', (code) => { reject(new Error(`nsqd exited ${code}`)) })
  })
  const pid = nsqd.pid!
  const limit = maxOpenFiles(pid)
  if (limit < connections + 64) throw new Error(`nsqd may open only ${limit} files (ulimit -n); ${connections} connections need more`)
  process.stdout.write(`connections benchmark: ${connections.toLocaleString('en-US')} idle consumers from ${workerCount} processes, heartbeat ${heartbeatMs} ms, ${windowS} s window; nsqd pid ${pid}, open files limit ${limit}\n`)

  await sleep(1000)
  const idleCpu = await cpuOver(pid, windowS)
  const rss0 = status(pid, 'VmRSS')
  const heap0 = await heapMB(http)

  const per = Math.ceil(connections / workerCount)
  const t0 = performance.now()
  const workers = Array.from({ length: workerCount }, (_, k) => {
    const n = Math.min(per, connections - k * per)
    const args = [process.execPath, '--import', 'tsx', path.join(ROOT, 'test/bench/idle-conn-worker.ts'), tcp, 'idle_bench', String(n), String(heartbeatMs)]
    const cmdline = nofileCommand(n + 1024, args)
    const w = spawn(cmdline[0]!, cmdline.slice(1), { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    children.push(w)
    return w
  })
  const next = (w: ChildProcess, type: string): Promise<any> => new Promise((resolve, reject) => {
    const onMsg = (m: { type: string }): void => { if (m.type === type) { w.off('message', onMsg); resolve(m) } }
    w.on('message', onMsg)
    w.once('exit', (code) => { reject(new Error(`worker exited ${code} before ${type}`)) })
  })
  const ready = await Promise.all(workers.map((w) => next(w, 'ready')))
  const opened = ready.reduce((a, r) => a + r.count, 0)
  const connectS = (performance.now() - t0) / 1000
  // two heartbeat intervals for the connections to settle (first heartbeats, NOPs, GC)
  await sleep(2 * heartbeatMs)
  const rss1 = status(pid, 'VmRSS')
  const heap1 = await heapMB(http)

  for (const w of workers) w.send({ type: 'measure' })
  const busyCpu = await cpuOver(pid, windowS)
  const results = await Promise.all(workers.map(async (w) => { const r = next(w, 'result'); w.send({ type: 'stop' }); return await r }))
  const rss2 = status(pid, 'VmRSS')
  const hwm = status(pid, 'VmHWM')

  const heartbeats = results.reduce((a, r) => a + r.heartbeats, 0)
  const closed = results.reduce((a, r) => a + r.closedEarly, 0)
  const errors = results.reduce((a, r) => a + r.errors, 0)
  const over = results.reduce((a, r) => a + r.over, 0)
  const maxGap = Math.max(...results.map((r) => r.max))
  const minGap = Math.min(...results.map((r) => r.min))
  const p99 = Math.max(...results.map((r) => r.p99))
  const p50 = results.map((r) => r.p50).sort((a, b) => a - b)[results.length >> 1]
  const expected = opened * windowS * 1000 / heartbeatMs
  const hbCpu = busyCpu - idleCpu
  const kb = (mb: number): string => (mb * 1024 / opened).toFixed(1)

  process.stdout.write([
    `connected ${opened.toLocaleString('en-US')} in ${connectS.toFixed(1)} s; closed early: ${closed}; error frames: ${errors}`,
    `nsqd RSS: ${rss0.toFixed(0)} MB before, ${rss1.toFixed(0)} MB with the connections, ${rss2.toFixed(0)} MB after the window (peak ${hwm.toFixed(0)} MB)`,
    `  per connection: ${kb(rss1 - rss0)} KB RSS (${kb(rss2 - rss0)} KB after the window), of which V8 heap in use ${kb(heap1 - heap0)} KB`,
    `nsqd CPU: ${(idleCpu * 100).toFixed(1)} % of a core idle, ${(busyCpu * 100).toFixed(1)} % with the connections; heartbeats (and their NOPs) ${(hbCpu * 100).toFixed(1)} % = ${(hbCpu * 1e6 / (heartbeats / windowS)).toFixed(1)} µs per heartbeat`,
    `heartbeats: ${heartbeats.toLocaleString('en-US')} received in the window (${expected.toLocaleString('en-US')} expected); gap between heartbeats min ${minGap.toFixed(0)} ms, median ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, max ${maxGap.toFixed(0)} ms (late by at most ${(maxGap - heartbeatMs).toFixed(0)} ms; ${over} gaps over 1.5 × the interval)`,
    ''
  ].join('\n'))

  await Promise.all(workers.map((w) => new Promise((resolve) => { if (w.exitCode !== null) resolve(null); else w.once('exit', resolve) })))
  const gone = new Promise((resolve) => nsqd.once('exit', resolve))
  nsqd.kill(cpuProfDir === undefined ? 'SIGKILL' : 'SIGTERM')
  await gone
  fs.rmSync(dir, { recursive: true, force: true })
}

main().then(() => { process.exit(0) }, (err: Error) => {
  console.error(err)
  for (const c of children) c.kill('SIGKILL')
  process.exit(1)
})
