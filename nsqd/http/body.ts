// Bounded request-body reading. The server hands route handlers the raw body stream (or nothing);
// a handler reads at most `limit + 1` bytes, so an oversized body is refused without being
// buffered whole: the rest is left unread and the response closes the connection.

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
