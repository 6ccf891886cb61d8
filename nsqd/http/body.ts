// Bounded request-body reading. The server hands route handlers the raw body stream (or nothing);
// a handler reads at most `limit + 1` bytes, so an oversized body is refused without being
// buffered whole: the rest is left unread, the answer says "Connection: close", and
// drainAfterReply reads and discards what the client still sends (bounded) before closing.

import type { IncomingMessage } from 'node:http'
import { Socket } from 'node:net'
import type { Readable } from 'node:stream'
import type { FastifyRequest } from 'fastify'
import { HttpApiError } from './errors.js'

export interface LimitedBody {
  /** What was read: at most limit + 1 bytes. */
  data: Buffer
  /** True when more than `limit` bytes were sent. */
  over: boolean
}

const EMPTY: LimitedBody = { data: Buffer.alloc(0), over: false }

/** The declared Content-Length, or -1 when absent (chunked). */
export function contentLength (req: FastifyRequest): number {
  const h = req.headers['content-length']
  if (h === undefined) return -1
  const n = Number(h)
  return Number.isFinite(n) ? n : -1
}

/** Reads the body up to limit + 1 bytes; a read error or an aborted upload is 500 INTERNAL_ERROR. */
export async function readLimited (req: FastifyRequest, limit: number): Promise<LimitedBody> {
  const stream = req.body as Readable | undefined
  if (stream === undefined || stream === null || typeof stream.on !== 'function') return EMPTY
  if (stream.readableEnded) return EMPTY
  return await new Promise<LimitedBody>((resolve, reject) => {
    const chunks: Buffer[] = []
    let total = 0
    const cleanup = (): void => {
      stream.off('data', onData)
      stream.off('end', onEnd)
      stream.off('error', onError)
      stream.off('close', onError)
    }
    const onData = (chunk: Buffer): void => {
      const room = limit + 1 - total
      if (chunk.length >= room) {
        chunks.push(chunk.subarray(0, room))
        total += room
        cleanup()
        stream.pause()
        resolve({ data: Buffer.concat(chunks, total), over: true })
        return
      }
      chunks.push(chunk)
      total += chunk.length
    }
    const onEnd = (): void => {
      cleanup()
      resolve({ data: chunks.length === 1 ? chunks[0] as Buffer : Buffer.concat(chunks, total), over: total > limit })
    }
    const onError = (): void => {
      cleanup()
      reject(new HttpApiError(500, 'INTERNAL_ERROR'))
    }
    stream.on('data', onData)
    stream.on('end', onEnd)
    stream.on('error', onError)
    // a client that goes away mid-body: no 'end' will come
    stream.on('close', onError)
  })
}

/**
 * How long, and how many body bytes, an answered oversized upload is still read (and discarded)
 * before its connection is closed: enough for a client that writes its whole body before reading
 * (Node's fetch, most HTTP libraries) to finish writing and read the 413; a client that goes on
 * sending beyond either bound is cut off.
 */
export const DRAIN_LIMITS = { ms: 5000, bytes: 32 * 1024 * 1024 }

/**
 * Called when the answer to `req` leaves part of its body unread. Closing a socket with unread
 * input makes the kernel reset the connection, and a client still writing its body then loses the
 * answer (EPIPE / ECONNRESET). Node ends a "Connection: close" response with destroySoon() (FIN,
 * then close once flushed); here that becomes a half-close only, the rest of the body is read and
 * dropped, and the socket is closed once the body has ended, the client has closed its side, or a
 * bound in `limits` is reached. Nothing is buffered.
 */
export function drainAfterReply (req: IncomingMessage, limits: { ms: number, bytes: number } = DRAIN_LIMITS): void {
  const socket = req.socket
  // (an injected request has no real socket, and nothing to drain)
  if (req.complete || !(socket instanceof Socket) || socket.destroyed) return
  let seen = 0
  let answered = false
  let bodyDone = false
  const close = (): void => {
    clearTimeout(timer)
    if (socket.destroyed) return
    if (socket.writableFinished || !socket.writable) socket.destroy()
    else socket.once('finish', () => { socket.destroy() })
  }
  const timer = setTimeout(() => { socket.destroy() }, limits.ms)
  timer.unref()
  socket.once('close', () => { clearTimeout(timer) })
  socket.once('end', close)
  socket.destroySoon = function (this: typeof socket): void {
    if (this.writable) this.end()
    answered = true
    if (bodyDone) close()
  }
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length
    if (seen > limits.bytes) socket.destroy()
  })
  req.once('end', () => {
    bodyDone = true
    if (answered) close()
  })
  req.on('error', () => {})
  req.resume()
}
