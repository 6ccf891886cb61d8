// Helpers for the storage tests: temp stores, message factories, draining a BackendQueue.

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Message } from '../../nsqd/core/message.js'
import type { BackendQueue } from '../../nsqd/store/backend-queue.js'
import { Store, type StoreLogger, type StoreOptions } from '../../nsqd/store/store.js'

export interface CapturedLogger extends StoreLogger { lines: string[] }

export function captureLogger (): CapturedLogger {
  const lines: string[] = []
  return {
    lines,
    info: (m) => { lines.push('INFO: ' + m) },
    warn: (m) => { lines.push('WARN: ' + m) },
    error: (m) => { lines.push('ERROR: ' + m) }
  }
}

export function tempDir (t: { teardown: (fn: () => void) => void }, prefix = 'nsq-store-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  t.teardown(() => { fs.rmSync(dir, { recursive: true, force: true }) })
  return dir
}

export async function openStore (location: string, opts: Partial<StoreOptions> = {}): Promise<Store> {
  return await Store.open({ path: location, syncEvery: 2500, syncTimeoutMs: 2000, ...opts })
}

/** Message number `n`: id is n in hex, body says n. */
export function msgN (n: number, bodySize = 0): Message {
  const text = `m${n}`
  const body = bodySize > text.length ? Buffer.concat([Buffer.from(text + ' '), Buffer.alloc(bodySize - text.length - 1, 0x61)]) : Buffer.from(text)
  return new Message(n.toString(16).padStart(16, '0'), body, 1_700_000_000_000 * 1e6 + n * 256, n % 7)
}

export function numberOf (msg: Message): number {
  return parseInt(msg.id, 16)
}

/**
 * Takes `count` messages (waiting on onReadable when the queue is loading), or everything until
 * depth() is 0 when count is undefined. Fails after `timeoutMs`.
 */
export async function take (q: BackendQueue, count?: number, timeoutMs = 10_000): Promise<Message[]> {
  const out: Message[] = []
  const deadline = Date.now() + timeoutMs
  while (count === undefined ? q.depth() > 0 : out.length < count) {
    const msg = q.shift()
    if (msg !== undefined) { out.push(msg); continue }
    if (Date.now() > deadline) throw new Error(`take: timed out with ${out.length} messages, depth ${q.depth()}`)
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 50)
      q.onReadable = () => { clearTimeout(timer); resolve() }
    })
  }
  return out
}

/** Polls `fn` until it returns true. */
export async function until (fn: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Every key in the store with the given prefix. */
export async function keysWithPrefix (store: Store, prefix: string): Promise<string[]> {
  return await store.db.keys({ gte: prefix, lt: prefix + '\xff' }).all()
}
