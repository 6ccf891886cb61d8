// nsqd throughput benchmark (issues 3 and 14): starts nsqd as its own process and drives it over
// loopback with load-worker processes, under both memory configurations (--mem-queue-size=1000000
// and the default 10000), and prints one table: msgs/s, MB/s and nsqd's peak RSS (VmHWM) per
// workload, beside Go nsqd 1.3's figures from issue 14 (measured with NSQ's own load generators on
// this machine) and the ratio ours / Go.
// Run: npm run bench -- nsqd   (or: npx tsx test/bench/nsqd.ts [--quick] [--seconds N] [--runs N]
//      [--only mpub-100|mpub-1024|pub-100|pub-1024|sub-100|sub-1024] [--config mem-1m|default])
// --quick: 2 s runs, the whole table in about a minute. --runs N: N rounds, medians reported.
// --nsqd-arg FLAG (repeatable): an extra nsqd flag, e.g. --nsqd-arg --max-attempts=5 (policy cost).

import fs from 'node:fs'
import os from 'node:os'
import { startNsqdProcess, type NsqdProcess, runLoadWorker, runLoadWorkers, type LoadResult } from './spawn.js'

const argv = process.argv.slice(2)
const flag = (name: string): string | undefined => argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined
const quick = argv.includes('--quick')
const seconds = Number(flag('--seconds') ?? 0) || (quick ? 2 : 10)
const runs = Number(flag('--runs') ?? 0) || 1
const only = flag('--only')
const onlyConfig = flag('--config')
const extraArgs = argv.flatMap((a, i) => argv[i - 1] === '--nsqd-arg' ? [a] : [])

type Result = LoadResult

/** The two configurations of issue 14's table. */
const CONFIGS = [
  { key: 'mem-1m', title: '--mem-queue-size=1000000', args: ['--mem-queue-size=1000000'] },
  { key: 'default', title: 'default (--mem-queue-size=10000)', args: [] as string[] }
] as const
type ConfigKey = typeof CONFIGS[number]['key']

/** The workloads, in the issue's order, with Go nsqd 1.3's msgs/s and peak RSS (MB) per configuration. */
const ROWS: ReadonlyArray<{ key: string, title: string, go: Record<ConfigKey, [number, number]> }> = [
  { key: 'mpub-100', title: 'MPUB 100 B ×200', go: { 'mem-1m': [401_690, 792], default: [311_008, 19] } },
  { key: 'mpub-1024', title: 'MPUB 1 KiB ×200', go: { 'mem-1m': [184_858, 2083], default: [195_780, 58] } },
  { key: 'pub-100', title: 'PUB 100 B, 1 in flight ×4 conns', go: { 'mem-1m': [32_052, 99], default: [26_275, 14] } },
  { key: 'pub-1024', title: 'PUB 1 KiB, 1 in flight ×4 conns', go: { 'mem-1m': [25_423, 310], default: [25_039, 32] } },
  { key: 'sub-100', title: 'consume 100 B, RDY 2500', go: { 'mem-1m': [308_971, 947], default: [288_298, 21] } },
  { key: 'sub-1024', title: 'consume 1 KiB, RDY 2500', go: { 'mem-1m': [177_716, 2497], default: [174_665, 58] } }
]

/** One measurement: rate, MB/s and nsqd's peak RSS. */
interface Sample { rate: number, mbs: number, rssMB: number }
const samples = new Map<string, Sample[]>() // `${config}/${row}`

function peakRssMB (pid: number): number {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
    const m = /VmHWM:\s+(\d+) kB/.exec(s)
    return m ? Number(m[1]) / 1024 : NaN
  } catch { return NaN }
}


const worker = async (args: string[]): Promise<Result> => await runLoadWorker('load-worker', args)
const workers = async (n: number, args: string[]): Promise<Result> => await runLoadWorkers('load-worker', n, args)

function record (config: ConfigKey, row: string, r: Result, rssMB: number): void {
  const s = r.ms / 1000
  const sample = { rate: r.msgs / s, mbs: r.bytes / s / 1e6, rssMB }
  const key = `${config}/${row}`
  samples.set(key, [...(samples.get(key) ?? []), sample])
  process.stdout.write(`  ${config.padEnd(8)} ${row.padEnd(10)} ${Math.round(sample.rate).toLocaleString('en-US').padStart(11)} msgs/s ${sample.mbs.toFixed(1).padStart(7)} MB/s  RSS ${rssMB.toFixed(0).padStart(5)} MB  (${r.msgs.toLocaleString('en-US')} msgs in ${s.toFixed(1)} s)\n`)
}

async function stop (n: NsqdProcess): Promise<void> {
  const exited = new Promise((resolve) => n.proc.once('exit', resolve))
  n.proc.kill('SIGKILL')
  await exited
  fs.rmSync(n.dir, { recursive: true, force: true })
}

async function runConfig (config: typeof CONFIGS[number], size: number): Promise<void> {
  const want = (name: string): boolean => only === undefined || only === name
  if (want(`pub-${size}`)) {
    // one message in flight on each of 4 connections (one worker process)
    const n = await startNsqdProcess([...config.args, ...extraArgs])
    record(config.key, `pub-${size}`, await worker(['pub', n.tcp, 'bench_pub', String(size), String(seconds), '4']), peakRssMB(n.proc.pid!))
    await stop(n)
  }
  if (want(`mpub-${size}`) || want(`sub-${size}`)) {
    // two workers × two connections publishing MPUB batches of 200, then two RDY 2500 consumers
    // drain the channel; the consume row's RSS is nsqd's peak over both phases
    const n = await startNsqdProcess([...config.args, ...extraArgs])
    const pubR = await workers(2, ['mpub', n.tcp, 'bench', String(size), String(seconds), '2', '200'])
    record(config.key, `mpub-${size}`, pubR, peakRssMB(n.proc.pid!))
    const subR = await workers(2, ['sub', n.tcp, 'bench', String(size), String(Math.floor(pubR.msgs / 2))])
    record(config.key, `sub-${size}`, subR, peakRssMB(n.proc.pid!))
    await stop(n)
  }
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

function table (): string {
  const head = ['configuration', 'workload', 'msgs/s', 'Go msgs/s', 'ratio', 'MB/s', 'RSS MB', 'Go RSS MB', 'RSS ratio']
  const lines: string[][] = []
  for (const c of CONFIGS) {
    for (const row of ROWS) {
      const ss = samples.get(`${c.key}/${row.key}`)
      if (ss === undefined) continue
      const rate = median(ss.map((s) => s.rate))
      const rss = median(ss.map((s) => s.rssMB))
      const [goRate, goRss] = row.go[c.key]
      lines.push([c.title, row.title, Math.round(rate).toLocaleString('en-US'), goRate.toLocaleString('en-US'), (rate / goRate).toFixed(2),
        median(ss.map((s) => s.mbs)).toFixed(1), rss.toFixed(0), String(goRss), (rss / goRss).toFixed(2)])
    }
  }
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const fmt = (cells: string[]): string => '| ' + cells.map((c, i) => i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join(' | ') + ' |'
  return [fmt(head), '| ' + widths.map((w, i) => (i < 2 ? '-'.repeat(w) : '-'.repeat(w - 1) + ':')).join(' | ') + ' |', ...lines.map(fmt)].join('\n')
}

const t0 = Date.now()
process.stdout.write(`nsqd benchmark: ${os.cpus().length} cores, node ${process.version}, ${seconds} s per publish run, ${runs} round(s)${quick ? ' (--quick)' : ''}\n`)
for (let r = 0; r < runs; r++) {
  for (const c of CONFIGS) {
    if (onlyConfig !== undefined && onlyConfig !== c.key) continue
    await runConfig(c, 100)
    await runConfig(c, 1024)
  }
}
process.stdout.write(`\n${table()}\n\nratio = ours / Go (msgs/s: higher is better; RSS: lower is better). Go figures: issue 14 (Go nsqd 1.3, NSQ's load generators, 10 s runs, medians of 3).\n` +
  `${runs > 1 ? `medians of ${runs} rounds; ` : ''}RSS = nsqd's VmHWM; consume rows: nsqd's peak over the publish and consume phases. Total ${((Date.now() - t0) / 1000).toFixed(0)} s.\n`)
