// What Go's net/http server writes when it cannot read a request at all (a malformed request line
// or header, headers too large), for nsqd's and nsqlookupd's HTTP listeners: a plain-text status
// body and `Connection: close`, then the connection ends. Node's parser (through Fastify) would
// answer with a JSON body instead. A connection that broke while reading gets nothing, as in Go.
//
// Node's parser is stricter than Go's in places (raw bytes >= 0x80 in the request target, a 16 KiB
// header limit where Go allows 1 MiB): such requests get this 400 or 431, where Go would serve them.

import type { Duplex } from 'node:stream'

const HEADERS = '\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n'
const TOO_LARGE = '431 Request Header Fields Too Large'
const BAD_REQUEST = '400 Bad Request'

/** Bytes Go's server writes for a request it could not parse. */
export function goClientErrorResponse (code: string | undefined): string {
  const status = code === 'HPE_HEADER_OVERFLOW' ? TOO_LARGE : BAD_REQUEST
  return `HTTP/1.1 ${status}${HEADERS}${status}`
}

/** A Fastify `clientErrorHandler` (Node's 'clientError' event). */
export function goClientErrorHandler (err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  if (!socket.writable) {
    socket.destroy()
    return
  }
  socket.end(goClientErrorResponse(err.code))
  socket.once('finish', () => { socket.destroy() })
}
