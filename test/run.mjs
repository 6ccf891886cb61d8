#!/usr/bin/env node
// The test command (`npm test`): runs the tap suite and ends with the plain line
// "N passed, N failed" that CI reads. Extra arguments go to tap (e.g. a single file).
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
let tapBin
try {
  tapBin = require.resolve('tap/package.json').replace(/package\.json$/, 'dist/esm/run.mjs')
} catch {
  process.stdout.write('tap is not installed: run npm install first\n0 passed, 1 failed\n')
  process.exit(1)
}
const args = [tapBin, '--reporter=tap', ...process.argv.slice(2)]
const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })

let pass = 0
let fail = 0
let sawSummary = false
let tail = ''
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk)
  const text = tail + chunk.toString('utf8')
  const lines = text.split('\n')
  tail = lines.pop() ?? ''
  for (const line of lines) scan(line)
})

function scan (line) {
  // tap's closing summary: "# { total: 12, pass: 11, fail: 1, skip: 0 }" (zero counts omitted)
  const m = /^# \{ total: (\d+)(.*)\}\s*$/.exec(line)
  if (!m) return
  sawSummary = true
  const p = /pass: (\d+)/.exec(m[2])
  const f = /fail: (\d+)/.exec(m[2])
  pass = p ? Number(p[1]) : 0
  fail = f ? Number(f[1]) : 0
}

child.on('close', (code, signal) => {
  if (tail) scan(tail)
  if ((code !== 0 || signal) && fail === 0) fail = 1 // never print a green line for a red run
  if (!sawSummary && fail === 0) fail = 1
  process.stdout.write(`\n${pass} passed, ${fail} failed\n`)
  process.exit(code === 0 && fail === 0 ? 0 : 1)
})
