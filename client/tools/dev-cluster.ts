#!/usr/bin/env node
// `npm start`: a local cluster for development: nsqlookupd, one nsqd registered with it (data under
// ./data), and nsqadmin, on NSQ's default ports. Ctrl-C (or SIGTERM) stops them cleanly.
// Flags: --data-path (default ./data), --host (default 127.0.0.1) for the listeners.

import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseFlags, formatHelp, FlagError, type FlagSpec } from '../wire/flags.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const FLAGS: FlagSpec[] = [
  { name: 'data-path', kind: 'string', default: './data', usage: 'where nsqd keeps its data' },
  { name: 'host', kind: 'string', default: '127.0.0.1', usage: 'address every daemon listens on' }
]

let flags
try {
  flags = parseFlags(FLAGS, process.argv.slice(2))
} catch (err) {
  if (!(err instanceof FlagError)) throw err
  process.stderr.write(`${err.message}\n${formatHelp('dev-cluster', FLAGS)}`)
  process.exit(2)
}
if (flags.help) {
  process.stdout.write(formatHelp('dev-cluster', FLAGS))
  process.exit(0)
}
const host = String(flags.values.host)
const dataPath = path.resolve(String(flags.values['data-path']))
fs.mkdirSync(dataPath, { recursive: true })

/** dist/client/tools → dist; the daemons sit beside this file's package folder. */
const dist = path.resolve(here, '../..')
const ext = path.extname(fileURLToPath(import.meta.url))
const children: Array<{ name: string, proc: ChildProcess }> = []
let stopping = false

function start (name: string, entry: string, args: string[]): Promise<string> {
  const script = path.join(dist, entry + ext)
  const nodeArgs = ext === '.ts' ? ['--import', 'tsx', script] : [script]
  const proc = spawn(process.execPath, [...nodeArgs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push({ name, proc })
  proc.stderr!.on('data', (c: Buffer) => { process.stderr.write(c) })
  proc.on('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`${name} exited (${signal ?? code}); stopping the cluster\n`)
      void stopAll(1)
    }
  })
  return new Promise((resolve, reject) => {
    let out = ''
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString()
      const m = /listening (.*)/.exec(out)
      if (m !== null) resolve(m[1]!.trim())
    })
    proc.once('exit', () => { reject(new Error(`${name} did not start`)) })
  })
}

/** How long each daemon gets to close cleanly after SIGTERM before it is killed. */
const STOP_DEADLINE_MS = 20_000

/**
 * Stops every daemon (SIGTERM, then SIGKILL after STOP_DEADLINE_MS) and exits: 0 only when
 * `code` is 0 and every daemon exited by itself with status 0. Each daemon's status is printed.
 */
async function stopAll (code: number): Promise<void> {
  if (stopping) return
  stopping = true
  const results = await Promise.all(children.slice().reverse().map(async ({ name, proc }) => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((resolve) => { proc.once('exit', () => { resolve() }) })
      proc.kill('SIGTERM')
      const timer = setTimeout(() => {
        process.stderr.write(`${name} did not exit within ${STOP_DEADLINE_MS / 1000}s; killing it\n`)
        proc.kill('SIGKILL')
      }, STOP_DEADLINE_MS)
      await exited
      clearTimeout(timer)
    }
    const status = proc.signalCode ?? proc.exitCode
    process.stdout.write(`${name} exited (${status})\n`)
    return status === 0
  }))
  const clean = results.every(Boolean)
  if (clean) process.stdout.write('NSQ dev cluster stopped: every daemon exited with status 0\n')
  process.exit(code === 0 && clean ? 0 : 1)
}

process.on('SIGINT', () => { void stopAll(0) })
process.on('SIGTERM', () => { void stopAll(0) })

try {
  const lookupd = await start('nsqlookupd', 'lookupd/main', [`--tcp-address=${host}:4160`, `--http-address=${host}:4161`, `--broadcast-address=${host}`])
  const nsqd = await start('nsqd', 'nsqd/main', [`--tcp-address=${host}:4150`, `--http-address=${host}:4151`, `--broadcast-address=${host}`,
    `--lookupd-tcp-address=${host}:4160`, `--data-path=${dataPath}`])
  const admin = await start('nsqadmin', 'admin/main', [`--http-address=${host}:4171`, `--lookupd-http-address=${host}:4161`])
  process.stdout.write([
    'NSQ dev cluster running (Ctrl-C stops it):',
    `  nsqlookupd  ${lookupd}`,
    `  nsqd        ${nsqd}   data: ${dataPath}`,
    `  nsqadmin    ${admin}   → open http://${host}:4171/`,
    ''
  ].join('\n'))
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`)
  await stopAll(1)
}
