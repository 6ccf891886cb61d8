// Response framing as Go's net/http writes a handler's body when the handler sets no
// Content-Length (nsqd's and nsqlookupd's responders never do): a body of at most 2048 bytes (the
// server's buffer before it starts chunking) gets a Content-Length; a longer one, written in one
// piece, goes out as a single chunk of `Transfer-Encoding: chunked`, then the last chunk.

import { Readable } from 'node:stream'

/** Go's bufferBeforeChunkingSize. */
export const GO_CHUNKING_THRESHOLD = 2048

/**
 * What to hand to reply.send() for `body`: the body itself (Fastify adds Content-Length), or, when
 * Go would chunk it, a one-chunk stream (Node then writes one chunk and the terminating one).
 */
export function goFramedBody (body: string | Buffer): string | Buffer | Readable {
  const length = typeof body === 'string' ? (body.length > GO_CHUNKING_THRESHOLD / 3 ? Buffer.byteLength(body) : body.length) : body.length
  if (length <= GO_CHUNKING_THRESHOLD) return body
  return Readable.from([typeof body === 'string' ? Buffer.from(body) : body], { objectMode: false })
}
