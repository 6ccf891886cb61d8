// Benchmarks run nsqd as its own process, on free ports with a temporary data path, and read its
// addresses from the start-up line. nsqd is the compiled dist/nsqd/main.js, as `npm start` and the
// installed `nsqd` binary run it (built once per benchmark process with tsconfig.build.json); tsx
// adds about 20 MB of RSS and its start-up cost. NSQ_BENCH_TSX=1 runs nsqd/main.ts through tsx;
// NSQ_BENCH_NODE_FLAGS adds node flags (e.g. "--max-semi-space-size=4") for experiments.

import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

export interface NsqdProcess {
  proc: ChildProcess
  tcp: string
  http: string
  dir: string
}

let built = false

/** The node arguments that start nsqd: the compiled entry point (built on first use), or tsx. */
export function nsqdEntry (): string[] {
  if (process.env.NSQ_BENCH_TSX === '1') return ['--import', 'tsx', path.join(ROOT, 'nsqd/main.ts')]
  if (!built) {
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' })
    built = true
  }
  return [...(process.env.NSQ_BENCH_NODE_FLAGS ?? '').split(' ').filter((f) => f !== ''), path.join(ROOT, 'dist/nsqd/main.js')]
}

/**
 * Starts nsqd; `args` come after the defaults (port 0, a temp --data-path, warn logs) and win.
 * `nodeArgs` go to node itself (e.g. --cpu-prof).
 */
export function startNsqdProcess (args: string[] = [], dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsq-bench-')), nodeArgs: string[] = []): Promise<NsqdProcess> {
  const proc = spawn(process.execPath, [...nodeArgs, ...nsqdEntry(),
    '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--data-path=${dir}`, '--log-level=warn', ...args],
  { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    let out = ''
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString()
      const line = /listening (.*)\n/.exec(out)
      if (line === null) return
      resolve({ proc, tcp: /tcp=(\S+)/.exec(line[1]!)?.[1] ?? '', http: /http=(\S+)/.exec(line[1]!)?.[1] ?? '', dir })
    })
    proc.once('exit', (code) => { reject(new Error(`nsqd exited ${code}`)) })
  })
}

/** What a load-generator process reports: messages, body bytes and elapsed ms. */
export interface LoadResult { msgs: number, bytes: number, ms: number }

/** Runs one load-generator script (`test/bench/<script>.ts`) and returns its last JSON line. */
export function runLoadWorker (script: string, args: string[]): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/bench', `${script}.ts`), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    p.stdout!.on('data', (c: Buffer) => { out += c.toString() })
    p.on('exit', (code) => { code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as LoadResult) : reject(new Error(`${script} exited ${code}`)) })
  })
}

/** `n` load generators at once; their counts added up, the longest elapsed time. */
export async function runLoadWorkers (script: string, n: number, args: string[]): Promise<LoadResult> {
  const rs = await Promise.all(Array.from({ length: n }, async () => await runLoadWorker(script, args)))
  return { msgs: rs.reduce((a, r) => a + r.msgs, 0), bytes: rs.reduce((a, r) => a + r.bytes, 0), ms: Math.max(...rs.map((r) => r.ms)) }
}
