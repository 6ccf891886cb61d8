// Cost of the delivery policies (issue 16): the same publish-then-consume workload as the nsqd
// table's "MPUB 100 B" / "consume 100 B, RDY 2500" rows (--mem-queue-size=1000000), run for three
// nsqd variants in the same run, alternating, so the machine's drift hits them alike:
//   none      no policy (NSQ 1.3's behaviour)
//   policies  --max-attempts=5 --message-ttl=1h (every delivery checks attempts and age)
//   caps      --max-queue-messages=100000000 (every publish checks the channel's cap; never full)
// Prints each run and a table of medians with the change against "none". The goal: ≤ 5 %.
// Run: npm run bench -- policies   (or: npx tsx test/bench/policies.ts [--quick] [--seconds N] [--runs N])

import fs from 'node:fs'
import os from 'node:os'
import { startNsqdProcess, runLoadWorkers, type NsqdProcess } from './spawn.js'

const argv = process.argv.slice(2)
const flag = (name: string): string | undefined => argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined
const quick = argv.includes('--quick')
const seconds = Number(flag('--seconds') ?? 0) || (quick ? 2 : 5)
const runs = Number(flag('--runs') ?? 0) || (quick ? 2 : 3)

const BASE = ['--mem-queue-size=1000000']
const VARIANTS = [
  { key: 'none', args: [] as string[] },
  { key: 'policies', args: ['--max-attempts=5', '--message-ttl=1h'] },
  { key: 'caps', args: ['--max-queue-messages=100000000'] }
] as const

const rates = new Map<string, { pub: number[], sub: number[] }>()

async function stop (n: NsqdProcess): Promise<void> {
  const exited = new Promise((resolve) => n.proc.once('exit', resolve))
  n.proc.kill('SIGKILL')
  await exited
  fs.rmSync(n.dir, { recursive: true, force: true })
}

async function measure (key: string, args: readonly string[]): Promise<void> {
  const n = await startNsqdProcess([...BASE, ...args])
  try {
    const pub = await runLoadWorkers('load-worker', 2, ['mpub', n.tcp, 'bench', '100', String(seconds), '2', '200'])
    const sub = await runLoadWorkers('load-worker', 2, ['sub', n.tcp, 'bench', '100', String(Math.floor(pub.msgs / 2))])
    const r = rates.get(key) ?? { pub: [], sub: [] }
    r.pub.push(pub.msgs / (pub.ms / 1000))
    r.sub.push(sub.msgs / (sub.ms / 1000))
    rates.set(key, r)
    process.stdout.write(`  ${key.padEnd(9)} MPUB ${Math.round(r.pub.at(-1)!).toLocaleString('en-US').padStart(9)} msgs/s   consume ${Math.round(r.sub.at(-1)!).toLocaleString('en-US').padStart(9)} msgs/s (${sub.msgs.toLocaleString('en-US')} msgs)\n`)
  } finally {
    await stop(n)
  }
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const pct = (x: number, base: number): string => `${x >= base ? '+' : ''}${((x / base - 1) * 100).toFixed(1)} %`

process.stdout.write(`policy cost: ${os.cpus().length} cores, node ${process.version}, ${seconds} s publish runs, ${runs} rounds, 100-byte messages, ${BASE.join(' ')}\n`)
for (let r = 0; r < runs; r++) {
  // alternate the order each round so no variant always runs first
  const order = r % 2 === 0 ? VARIANTS : [...VARIANTS].reverse()
  for (const v of order) await measure(v.key, v.args)
}
const none = rates.get('none')!
const base = { pub: median(none.pub), sub: median(none.sub) }
const lines = ['| variant | nsqd flags | MPUB 100 B msgs/s | vs none | consume 100 B msgs/s | vs none |', '| --- | --- | ---: | ---: | ---: | ---: |']
for (const v of VARIANTS) {
  const r = rates.get(v.key)!
  const pub = median(r.pub)
  const sub = median(r.sub)
  lines.push(`| ${v.key} | ${v.args.join(' ') || '—'} | ${Math.round(pub).toLocaleString('en-US')} | ${v.key === 'none' ? '' : pct(pub, base.pub)} | ${Math.round(sub).toLocaleString('en-US')} | ${v.key === 'none' ? '' : pct(sub, base.sub)} |`)
}
process.stdout.write(`\n${lines.join('\n')}\n\nmedians of ${runs} rounds; the goal (issue 16) is a cost of at most 5 % on consume 100 B.\n`)
