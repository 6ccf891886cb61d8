// Spawns a command-line tool as its own process (node --import tsx client/tools/<name>.ts).

import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

export interface ToolRun {
  child: ChildProcess
  stdout: Buffer[]
  stderr: Buffer[]
  /** Resolves with the exit code (or the signal name). */
  done: Promise<number | string>
  out (): string
  err (): string
}

export function startTool (name: string, args: string[], input?: Buffer | string): ToolRun {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'client/tools', `${name}.ts`), ...args], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe']
  })
  const stdout: Buffer[] = []
  const stderr: Buffer[] = []
  child.stdout?.on('data', (c: Buffer) => stdout.push(c))
  child.stderr?.on('data', (c: Buffer) => stderr.push(c))
  const done = new Promise<number | string>((resolve) => {
    child.on('close', (code, signal) => { resolve(code ?? signal ?? -1) })
  })
  if (input !== undefined) child.stdin?.end(input)
  return {
    child,
    stdout,
    stderr,
    done,
    out: () => Buffer.concat(stdout).toString('utf8'),
    err: () => Buffer.concat(stderr).toString('utf8')
  }
}
