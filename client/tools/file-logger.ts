// nsq_to_file's per-topic writer: appends bodies + "\n" to the current file, FINs messages only
// after the data is written and fsynced, rotates (datetime change, size, interval, SIGHUP), writes
// one gzip member per sync, and moves finished files from the work dir to the output dir.

import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import type { Consumer } from '../consumer.js'
import type { Message } from '../message.js'

export interface FileLoggerOptions {
  topic: string
  outputDir: string
  workDir: string
  filenameFormat: string
  datetimeFormat: string
  hostIdentifier: string
  gzip: boolean
  gzipLevel: number
  rotateSize: number
  rotateIntervalMs: number
  skipEmptyFiles: boolean
  /** Sync when this many messages wait for their FIN (max-in-flight). */
  maxPending: number
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void
}

const NL = Buffer.from('\n')

/** strftime subset: %Y %y %m %d %H %M %S %j %b %a %p %% (local time). */
export function strftime (format: string, d: Date): string {
  const p2 = (n: number): string => String(n).padStart(2, '0')
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
  return format.replace(/%([YymdHMSjbap%])/g, (_m, c: string) => {
    switch (c) {
      case 'Y': return String(d.getFullYear())
      case 'y': return p2(d.getFullYear() % 100)
      case 'm': return p2(d.getMonth() + 1)
      case 'd': return p2(d.getDate())
      case 'H': return p2(d.getHours())
      case 'M': return p2(d.getMinutes())
      case 'S': return p2(d.getSeconds())
      case 'j': {
        const start = new Date(d.getFullYear(), 0, 1)
        return String(Math.floor((d.getTime() - start.getTime()) / 86_400_000) + 1).padStart(3, '0')
      }
      case 'b': return months[d.getMonth()] as string
      case 'a': return days[d.getDay()] as string
      case 'p': return d.getHours() < 12 ? 'AM' : 'PM'
      default: return '%'
    }
  })
}

/** Whether <REV> is required (and files are created exclusively). */
export function revRequired (o: Pick<FileLoggerOptions, 'gzip' | 'rotateSize' | 'rotateIntervalMs' | 'workDir' | 'outputDir'>): boolean {
  return o.gzip || o.rotateSize > 0 || o.rotateIntervalMs > 0 || path.resolve(o.workDir) !== path.resolve(o.outputDir)
}

export class FileLogger {
  readonly o: FileLoggerOptions
  consumer: Consumer | null = null
  private fd: number | null = null
  private name = ''
  private baseName = ''
  private size = 0
  private openedAtMs = 0
  private chunks: Buffer[] = []
  private pending: Message[] = []
  private readonly exclusive: boolean
  written = 0

  constructor (o: FileLoggerOptions) {
    this.o = o
    this.exclusive = revRequired(o)
  }

  /** The file name for now, before <REV>. */
  private currentBase (now: Date): string {
    let name = this.o.filenameFormat
      .replaceAll('<TOPIC>', this.o.topic)
      .replaceAll('<HOST>', this.o.hostIdentifier)
      .replaceAll('<PID>', String(process.pid))
      .replaceAll('<DATETIME>', strftime(this.o.datetimeFormat, now))
    if (this.o.gzip) name += '.gz'
    return name
  }

  start (): void {
    if (!this.o.skipEmptyFiles) this.open(new Date())
  }

  private open (now: Date): void {
    const base = this.currentBase(now)
    this.baseName = base
    if (!this.exclusive) {
      this.name = base.replaceAll('<REV>', '')
      this.fd = fs.openSync(path.join(this.o.workDir, this.name), 'a')
      this.size = fs.fstatSync(this.fd).size
    } else {
      for (let rev = 0; ; rev++) {
        const name = base.replaceAll('<REV>', `-${String(rev).padStart(6, '0')}`)
        if (fs.existsSync(path.join(this.o.outputDir, name))) continue
        try {
          this.fd = fs.openSync(path.join(this.o.workDir, name), 'wx')
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue
          throw err
        }
        this.name = name
        break
      }
      this.size = 0
    }
    this.openedAtMs = now.getTime()
    this.o.log('info', `[${this.o.topic}] opening ${path.join(this.o.workDir, this.name)}`)
  }

  private needsRotation (now: Date): boolean {
    if (this.fd === null) return false
    if (this.currentBase(now) !== this.baseName) return true
    if (this.o.rotateSize > 0 && this.size > this.o.rotateSize) return true
    if (this.o.rotateIntervalMs > 0 && now.getTime() - this.openedAtMs >= this.o.rotateIntervalMs) return true
    return false
  }

  /** The consumer's handler: buffer the body, FIN later. */
  onMessage (m: Message): void {
    const now = new Date()
    if (this.needsRotation(now)) this.rotate(now)
    if (this.fd === null) this.open(now)
    this.chunks.push(m.body, NL)
    this.size += m.body.length + 1
    this.pending.push(m)
    if (this.pending.length >= this.o.maxPending || (this.consumer !== null && this.consumer.isStarved())) this.sync()
  }

  /** Writes what is buffered (one gzip member), fsyncs, then FINs the messages it held. */
  sync (): void {
    if (this.fd !== null && this.chunks.length > 0) {
      const data = Buffer.concat(this.chunks)
      this.chunks = []
      const out = this.o.gzip ? zlib.gzipSync(data, { level: this.o.gzipLevel }) : data
      let off = 0
      while (off < out.length) off += fs.writeSync(this.fd, out, off)
      fs.fsyncSync(this.fd)
    }
    const done = this.pending
    this.pending = []
    this.written += done.length
    for (const m of done) m.finish()
  }

  /** Periodic check (sync interval): sync, and rotate when due. */
  tick (): void {
    const now = new Date()
    this.sync()
    if (this.needsRotation(now)) {
      this.rotate(now)
      if (!this.o.skipEmptyFiles) this.open(now)
    }
  }

  /** Closes the current file (moving it to the output dir); the next message opens a new one. */
  rotate (now: Date = new Date()): void {
    this.sync()
    this.closeFile()
    void now
  }

  /** SIGHUP: close and reopen. */
  reopen (): void {
    this.rotate()
    if (!this.o.skipEmptyFiles) this.open(new Date())
  }

  closeFile (): void {
    if (this.fd === null) return
    fs.closeSync(this.fd)
    this.fd = null
    const from = path.join(this.o.workDir, this.name)
    if (path.resolve(this.o.workDir) !== path.resolve(this.o.outputDir)) {
      const to = path.join(this.o.outputDir, this.name)
      if (fs.existsSync(to)) {
        this.o.log('error', `[${this.o.topic}] cannot move ${from}: ${to} exists`)
        return
      }
      fs.renameSync(from, to)
      this.o.log('info', `[${this.o.topic}] moved ${from} to ${to}`)
    } else {
      this.o.log('info', `[${this.o.topic}] closed ${from}`)
    }
  }
}
