// What Go's net/http server writes when it refuses a request before any handler runs, for nsqd's
// and nsqlookupd's HTTP listeners: a plain-text status line and body, `Connection: close`, then the
// connection ends. Node (through Fastify) would answer some of these with a JSON body, answer
// others differently, and serve the rest:
//
// - unparsable request → `400 Bad Request`; headers too large → `431 Request Header Fields Too Large`
// - a Transfer-Encoding other than exactly `chunked` → `501 Not Implemented` (Go supports no other)
// - a protocol version other than HTTP/1.x → `505 HTTP Version Not Supported: unsupported protocol version`
// - HTTP/1.1 without a Host header → `400 Bad Request: missing required Host header`
// - an Expect header other than 100-continue → `417 Expectation Failed`, empty, `Connection: close`
//
// A connection that broke while reading gets nothing, as in Go. Node's parser is stricter than Go's
// in places (raw bytes >= 0x80 in the request target, a 16 KiB header limit where Go allows 1 MiB):
// such requests get the 400 or 431 here, where Go would serve them.

import type { Duplex } from 'node:stream'
import type { FastifyInstance } from 'fastify'

const HEADERS = '\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n'

/** Go's answer when the status text is also the body. */
function plain (status: string): string {
  return `HTTP/1.1 ${status}${HEADERS}${status}`
}

export const GO_BAD_REQUEST = plain('400 Bad Request')
export const GO_HEADERS_TOO_LARGE = plain('431 Request Header Fields Too Large')
export const GO_UNSUPPORTED_TE = `HTTP/1.1 501 Not Implemented${HEADERS}Unsupported transfer encoding`
export const GO_BAD_VERSION = plain('505 HTTP Version Not Supported: unsupported protocol version')
export const GO_MISSING_HOST = plain('400 Bad Request: missing required Host header')

/** Bytes Go's server writes for a request Node's parser could not read (by Node's error code). */
export function goClientErrorResponse (code: string | undefined): string {
  if (code === 'HPE_HEADER_OVERFLOW') return GO_HEADERS_TOO_LARGE
  if (code === 'HPE_INVALID_TRANSFER_ENCODING') return GO_UNSUPPORTED_TE
  return GO_BAD_REQUEST
}

function endWith (socket: Duplex, bytes: string): void {
  socket.end(bytes)
  socket.once('finish', () => { socket.destroy() })
}

/** A Fastify `clientErrorHandler` (Node's 'clientError' event). */
export function goClientErrorHandler (err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  if (!socket.writable) {
    socket.destroy()
    return
  }
  endWith(socket, goClientErrorResponse(err.code))
}

/**
 * Installs the checks Go's server makes on a parsed request before routing (Transfer-Encoding,
 * protocol version, Host), in Go's order, as the app's first onRequest hook.
 */
export function installGoRequestChecks (app: FastifyInstance): void {
  // Node would answer a missing Host itself, with other bytes
  (app.server as unknown as { requireHostHeader: boolean }).requireHostHeader = false
  app.server.on('checkExpectation', (_req, res) => {
    res.writeHead(417, { Connection: 'close', 'Content-Length': '0' })
    res.end()
  })
  app.addHook('onRequest', async (req, reply) => {
    const raw = req.raw
    const te = raw.headers['transfer-encoding']
    let answer: string | null = null
    if (te !== undefined && raw.httpVersionMajor === 1 && raw.httpVersionMinor >= 1 && te.toLowerCase() !== 'chunked') answer = GO_UNSUPPORTED_TE
    else if (raw.httpVersionMajor !== 1) answer = GO_BAD_VERSION
    else if (raw.httpVersionMinor >= 1 && raw.headers.host === undefined) answer = GO_MISSING_HOST
    if (answer === null) return
    reply.hijack()
    endWith(raw.socket, answer)
  })
}
