// nsqd disk benchmark (issue 5): nsqd as its own process, load from worker processes over loopback.
// Cases: MPUB 100 B x200 in memory (the reference), with --mem-queue-size=0 (default sync policy),
// in durable mode (--mem-queue-size=0 --sync-every=1), and consuming a 1 M-message disk backlog.
// Run: npx tsx test/bench/nsqd-disk.ts [--seconds N] [--backlog N]

import type { ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import * as cmd from '../../client/wire/commands.js'
import { MAGIC_V2 } from '../../client/wire/frames.js'
import { startNsqdProcess, type NsqdProcess, runLoadWorker, runLoadWorkers, type LoadResult } from './spawn.js'

const argv = process.argv.slice(2)
const arg = (name: string, dflt: number): number => argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : dflt
const seconds = arg('--seconds', 8)
const backlog = arg('--backlog', 1_000_000)

type Result = LoadResult

function startNSQD (extra: string[]): Promise<NsqdProcess> {
  return startNsqdProcess(extra, fs.mkdtempSync(path.join(os.tmpdir(), 'nsq-bench-disk-')))
}

async function stop (n: { proc: ChildProcess, dir: string }): Promise<void> {
  const exited = new Promise((resolve) => n.proc.once('exit', resolve))
  n.proc.kill('SIGKILL')
  await exited
  fs.rmSync(n.dir, { recursive: true, force: true })
}

/** Creates the channel (SUB with RDY 0) so publishes land in the channel's queue. */
async function holdChannel (addr: string, topic: string): Promise<net.Socket> {
  const i = addr.lastIndexOf(':')
  const s = net.connect(Number(addr.slice(i + 1)), addr.slice(0, i))
  await new Promise((resolve) => s.once('connect', resolve))
  s.on('data', () => {})
  s.write(Buffer.concat([MAGIC_V2, cmd.sub(topic, 'bench')]))
  await new Promise((resolve) => setTimeout(resolve, 200))
  return s
}


const worker = async (args: string[]): Promise<Result> => await runLoadWorker('disk-load-worker', args)
const workers = async (n: number, args: string[]): Promise<Result> => await runLoadWorkers('disk-load-worker', n, args)

function report (name: string, r: Result): number {
  const rate = r.msgs / (r.ms / 1000)
  process.stdout.write(`${name.padEnd(40)} ${Math.round(rate).toLocaleString('en-US').padStart(11)} msgs/s   (${r.msgs.toLocaleString('en-US')} msgs in ${(r.ms / 1000).toFixed(1)} s)\n`)
  return rate
}

async function mpubCase (name: string, flags: string[], depth: number): Promise<number> {
  const n = await startNSQD(flags)
  const hold = await holdChannel(n.tcp, 'bench')
  const r = await workers(2, ['mpub', n.tcp, 'bench', '100', String(seconds), '1', '200', String(depth)])
  const rate = report(name, r)
  hold.destroy()
  await stop(n)
  return rate
}

const mem = await mpubCase('MPUB 100 B x200, memory', ['--mem-queue-size=100000000'], 1)
const disk = await mpubCase('MPUB 100 B x200, --mem-queue-size=0', ['--mem-queue-size=0'], 1)
const durable = await mpubCase('MPUB 100 B x200, durable (8 in flight)', ['--mem-queue-size=0', '--sync-every=1'], 8)
process.stdout.write(`disk / memory: ${(disk / mem * 100).toFixed(0)} %; durable / memory: ${(durable / mem * 100).toFixed(0)} %\n`)

// consume a backlog that lives on disk
{
  const n = await startNSQD(['--mem-queue-size=0'])
  const hold = await holdChannel(n.tcp, 'bench')
  let filled = 0
  while (filled < backlog) {
    const r = await workers(2, ['mpub', n.tcp, 'bench', '100', '2', '1', '200', '4'])
    filled += r.msgs
  }
  hold.destroy()
  const r = await worker(['sub', n.tcp, 'bench', '100', String(filled), '2'])
  report(`consume ${filled.toLocaleString('en-US')} from disk (2 x RDY 2500)`, r)
  await stop(n)
}
