// Opening the node's LevelDB, and what happens when that fails.
//
// - An I/O error (no space, permission denied, too many open files, EIO, a read-only filesystem,
//   the data path is not a directory, ...) is not damage: nothing is touched and the start fails
//   with one StoreOpenError line naming the store, the cause and what to do. Once the cause is
//   gone a restart opens the store as it was.
// - Damage (LevelDB reports corruption, or a file the store refers to is missing) is repaired, but
//   first the whole directory is copied beside it (`<store>.before-repair-<UTC time>`); without
//   room for that copy nothing is changed and the start fails. If the repaired store still will not
//   open it is moved aside (`<store>.bad-<ms>`) and the node starts empty: the copy still holds
//   the original. No step here deletes or moves a data file without such a copy.
// - A store locked by another process is never touched (the caller words that error).

import fs from 'node:fs'
import path from 'node:path'
import { Level } from 'level'

export interface OpenLogger {
  info (msg: string): void
  warn (msg: string): void
  error (msg: string): void
}

/** Replaces LevelDB's repair (tests: a repair that fails). */
export type RepairFn = (location: string) => Promise<void>

/** The store could not be opened; the message is one line for the operator. */
export class StoreOpenError extends Error {
  readonly code = 'NSQD_STORE_OPEN'
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StoreOpenError'
  }
}

type Failure = 'locked' | 'damaged' | 'io'

interface LevelishError { code?: string, message?: string, cause?: LevelishError }

/** The innermost error LevelDB (or fs) reported: abstract-level wraps open failures. */
function rootOf (err: unknown): LevelishError {
  let e = err as LevelishError
  while (e?.code === 'LEVEL_DATABASE_NOT_OPEN' && e.cause !== undefined) e = e.cause
  return e ?? {}
}

/** The reason in one line, e.g. "IO error: /x/000005.ldb: No space left on device". */
export function reasonOf (err: unknown): string {
  const msg = String(rootOf(err).message ?? err)
  return msg.replace(/\s*\n\s*/g, ' ')
}

export function classify (err: unknown): Failure {
  const e = rootOf(err)
  if (e.code === 'LEVEL_LOCKED') return 'locked'
  if (e.code === 'LEVEL_CORRUPTION') return 'damaged'
  // LevelDB reports a file the manifest or CURRENT names but that is gone as an IO error: that is
  // damage to the store (nothing the operator can wait out), and repair rebuilds the manifest
  if (e.code === 'LEVEL_IO_ERROR' && /No such file or directory/.test(e.message ?? '')) return 'damaged'
  return 'io'
}

/** An error from LevelDB or the filesystem (not a bug in this code): it has a code. */
export function isStorageError (err: unknown): boolean {
  const code = rootOf(err).code
  return typeof code === 'string' && (code.startsWith('LEVEL_') || /^E[A-Z]+$/.test(code))
}

/** What the operator can do about an I/O error, from its text. */
function remedy (reason: string): string {
  if (/No space left|ENOSPC|quota|EDQUOT/i.test(reason)) return 'free space'
  if (/Too many open files|EMFILE|ENFILE/i.test(reason)) return 'raise the open-files limit (ulimit -n)'
  if (/Read-only file system|EROFS/i.test(reason)) return 'make it writable'
  if (/Permission denied|EACCES|EPERM|Operation not permitted/i.test(reason)) return 'fix the permissions'
  return 'fix the cause'
}

/** The one-line error for an I/O failure that left the store untouched. */
export function untouched (location: string, err: unknown): StoreOpenError {
  const reason = reasonOf(err)
  return new StoreOpenError(`cannot open data store ${location}: ${reason}; nothing was changed, ${remedy(reason)} and start again`, { cause: err })
}

/** Opens the store, creating it if missing; repairs it only when it is damaged (see above). */
export async function openLevel (location: string, writeBufferSize: number, logger: OpenLogger, repair?: RepairFn): Promise<Level<string, Buffer>> {
  try {
    fs.mkdirSync(path.dirname(location), { recursive: true })
  } catch (err) {
    throw untouched(location, err)
  }
  const db = makeLevel(location, writeBufferSize)
  try {
    await db.open()
    return db
  } catch (err) {
    const kind = classify(err)
    if (kind === 'locked') throw err
    if (kind === 'io') throw untouched(location, err)
    return await repairLevel(location, writeBufferSize, logger, reasonOf(err), repair)
  }
}

function makeLevel (location: string, writeBufferSize: number): Level<string, Buffer> {
  return new Level<string, Buffer>(location, { keyEncoding: 'utf8', valueEncoding: 'buffer', writeBufferSize })
}

/** Room kept free beyond the copy itself (LevelDB's own LOG, the filesystem's metadata). */
const COPY_MARGIN = 1024 * 1024

/**
 * The store is damaged (`reason`): keep a copy of it, run LevelDB's repair (which keeps whatever
 * is readable) and open it. Throws StoreOpenError, with nothing changed, when there is no room
 * for the copy.
 */
export async function repairLevel (location: string, writeBufferSize: number, logger: OpenLogger, reason: string, repair?: RepairFn): Promise<Level<string, Buffer>> {
  const copy = `${location}.before-repair-${new Date().toISOString().replace(/:/g, '-')}`
  const { files, bytes } = treeSize(location)
  const free = freeBytes(path.dirname(location))
  if (free < bytes + COPY_MARGIN) {
    throw new StoreOpenError(`data store ${location} is damaged (${reason}) and needs a repair, but there is no room to keep a copy of it first (${mib(bytes + COPY_MARGIN)} needed, ${mib(free)} free); nothing was changed, free space and start again`)
  }
  try {
    copyTree(location, copy)
  } catch (err) {
    fs.rmSync(copy, { recursive: true, force: true }) // only our own partial copy
    throw new StoreOpenError(`data store ${location} is damaged (${reason}) and needs a repair, but keeping a copy of it at ${copy} failed (${reasonOf(err)}); nothing was changed, ${remedy(reasonOf(err))} and start again`, { cause: err })
  }
  logger.error(`DISKQUEUE: ${location} is damaged - ${reason}; kept a copy of it (${files} files, ${mib(bytes)}) at ${copy}; attempting repair`)
  const kept = `the store as it was before the repair is kept at ${copy}`
  try {
    await (repair ?? levelRepair)(location)
    const db = makeLevel(location, writeBufferSize)
    await db.open()
    logger.warn(`DISKQUEUE: repaired ${location}; what could not be read was dropped; ${kept}`)
    return db
  } catch (err) {
    const kind = classify(err)
    if (kind === 'locked') throw err
    if (kind === 'io') {
      throw new StoreOpenError(`repair of data store ${location} failed: ${reasonOf(err)}; ${kept}; ${remedy(reasonOf(err))} and start again`, { cause: err })
    }
    const aside = `${location}.bad-${Date.now()}`
    logger.error(`DISKQUEUE: repair of ${location} failed - ${reasonOf(err)}; moving it to ${aside} and starting empty; ${kept}`)
    fs.renameSync(location, aside)
    const db = makeLevel(location, writeBufferSize)
    try {
      await db.open()
    } catch (err2) {
      throw new StoreOpenError(`cannot open a new data store ${location} after moving the damaged one to ${aside}: ${reasonOf(err2)}; ${kept}`, { cause: err2 })
    }
    return db
  }
}

async function levelRepair (location: string): Promise<void> {
  await (Level as unknown as { repair: RepairFn }).repair(location)
}

function freeBytes (dir: string): number {
  const s = fs.statfsSync(dir)
  return s.bavail * s.bsize
}

function mib (bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`
}

function treeSize (dir: string): { files: number, bytes: number } {
  let files = 0
  let bytes = 0
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) {
      const sub = treeSize(p)
      files += sub.files
      bytes += sub.bytes
    } else {
      files++
      bytes += fs.statSync(p).size
    }
  }
  return { files, bytes }
}

/** Copies dir to a new directory `to` and syncs every file and directory of the copy. */
function copyTree (dir: string, to: string): void {
  fs.mkdirSync(to)
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const from = path.join(dir, e.name)
    const dest = path.join(to, e.name)
    if (e.isDirectory()) {
      copyTree(from, dest)
    } else {
      fs.copyFileSync(from, dest, fs.constants.COPYFILE_EXCL)
      syncPath(dest, 'r+')
    }
  }
  syncPath(to, 'r')
  syncPath(path.dirname(to), 'r')
}

function syncPath (p: string, flags: string): void {
  const fd = fs.openSync(p, flags)
  try {
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}
