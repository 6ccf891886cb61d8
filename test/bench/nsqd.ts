// nsqd throughput benchmark (issue 3): starts nsqd as its own process and drives it over loopback
// with load-worker processes. Prints msgs/s, MB/s and nsqd's peak RSS per case.
// Run: npm run bench   (or: npx tsx test/bench/nsqd.ts [--seconds N] [--only mpub-100])

import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startNsqdProcess, type NsqdProcess } from './spawn.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const argv = process.argv.slice(2)
const seconds = Number(argv[argv.indexOf('--seconds') + 1] ?? 0) || 10
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined

interface Result { msgs: number, bytes: number, ms: number }

function startNSQD (extra: string[]): Promise<NsqdProcess> {
  return startNsqdProcess(['--mem-queue-size=1000000', ...extra])
}

function peakRssMB (pid: number): number {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
    const m = /VmHWM:\s+(\d+) kB/.exec(s)
    return m ? Number(m[1]) / 1024 : NaN
  } catch { return NaN }
}

function worker (args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test/bench/load-worker.ts'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    p.stdout.on('data', (c: Buffer) => { out += c.toString() })
    p.on('exit', (code) => { code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as Result) : reject(new Error(`worker exited ${code}`)) })
  })
}

async function workers (n: number, args: string[]): Promise<Result> {
  const rs = await Promise.all(Array.from({ length: n }, () => worker(args)))
  return { msgs: rs.reduce((a, r) => a + r.msgs, 0), bytes: rs.reduce((a, r) => a + r.bytes, 0), ms: Math.max(...rs.map((r) => r.ms)) }
}

function report (name: string, r: Result, rss: number): void {
  const rate = r.msgs / (r.ms / 1000)
  const mb = r.bytes / (r.ms / 1000) / 1e6
  process.stdout.write(`${name.padEnd(22)} ${Math.round(rate).toLocaleString('en-US').padStart(11)} msgs/s ${mb.toFixed(1).padStart(8)} MB/s   (${r.msgs.toLocaleString('en-US')} msgs in ${(r.ms / 1000).toFixed(1)} s, nsqd peak RSS ${rss.toFixed(0)} MB)\n`)
}

async function runCase (size: number): Promise<void> {
  const label = size >= 1024 ? `${size / 1024} KiB` : `${size} B`
  const want = (name: string): boolean => only === undefined || only === name
  if (want(`pub-${size}`)) {
    const n = await startNSQD([])
    const r = await worker(['pub', n.tcp, 'bench_pub', String(size), String(Math.min(seconds, 5)), '1'])
    report(`PUB ${label} (1 in flight)`, r, peakRssMB(n.proc.pid!))
    n.proc.kill('SIGKILL'); fs.rmSync(n.dir, { recursive: true, force: true })
  }
  if (want(`mpub-${size}`) || want(`sub-${size}`)) {
    const n = await startNSQD([])
    const pubR = await workers(2, ['mpub', n.tcp, 'bench', String(size), String(seconds), '2', '200'])
    report(`MPUB ${label} (x200)`, pubR, peakRssMB(n.proc.pid!))
    const per = Math.floor(pubR.msgs / 2)
    const subR = await workers(2, ['sub', n.tcp, 'bench', String(size), String(per)])
    report(`consume ${label} (RDY 2500)`, subR, peakRssMB(n.proc.pid!))
    n.proc.kill('SIGKILL'); fs.rmSync(n.dir, { recursive: true, force: true })
  }
}

process.stdout.write(`nsqd benchmark: ${os.cpus().length} cores, node ${process.version}, ${seconds}s per MPUB run\n`)
await runCase(100)
await runCase(1024)
