// The admin's upstream HTTP client: plain http://host:port requests with NSQ's Accept header, a
// connect timeout and an overall request timeout (--http-client-connect-timeout / -request-timeout),
// so that a dead or hung node turns into an error string and never into a hang.

import http from 'node:http'
import { STATUS_CODES } from 'node:http'

export const ACCEPT_NSQ_V1 = 'application/vnd.nsq; version=1.0'
const MAX_BODY_BYTES = 64 * 1024 * 1024

export interface HttpClientOptions {
  connectTimeoutMs: number
  requestTimeoutMs: number
  userAgent: string
}

export class UpstreamError extends Error {
  override name = 'UpstreamError'
  /** HTTP status from the upstream, 0 for transport errors and timeouts. */
  readonly status: number
  /** The upstream's `message` field when it answered with NSQ-style JSON. */
  readonly upstreamMessage: string

  constructor (message: string, status = 0, upstreamMessage = '') {
    super(message)
    this.status = status
    this.upstreamMessage = upstreamMessage
  }
}

export interface HttpResult {
  status: number
  body: Buffer
}

export class HttpClient {
  private readonly opts: HttpClientOptions
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16 })

  constructor (opts: HttpClientOptions) {
    this.opts = opts
  }

  close (): void {
    this.agent.destroy()
  }

  /** GET http://<addr><path>, expect 200 and JSON. */
  async getJson (addr: string, path: string): Promise<unknown> {
    const res = await this.request('GET', `http://${addr}${path}`, null, null)
    return parseJson(res, `GET http://${addr}${path}`)
  }

  /** POST http://<addr><path> with an empty body, expect 200; the body is ignored. */
  async post (addr: string, path: string): Promise<void> {
    await this.request('POST', `http://${addr}${path}`, null, null)
  }

  /** POST a JSON document to a full URL (notifications); expects a 2xx. */
  async postJson (url: string, doc: unknown): Promise<void> {
    await this.request('POST', url, Buffer.from(JSON.stringify(doc)), 'application/json', true)
  }

  /** GET a full URL, resolving with status and body whatever the status (graphite). */
  async getRaw (url: string): Promise<HttpResult> {
    return await this.request('GET', url, null, null, true, true)
  }

  request (method: string, url: string, body: Buffer | null, contentType: string | null, any2xx = false, anyStatus = false): Promise<HttpResult> {
    const label = `${method} ${url}`
    return new Promise<HttpResult>((resolve, reject) => {
      let settled = false
      let connectTimer: NodeJS.Timeout | null = null
      const headers: Record<string, string> = { Accept: ACCEPT_NSQ_V1, 'User-Agent': this.opts.userAgent }
      if (contentType !== null) headers['Content-Type'] = contentType
      headers['Content-Length'] = String(body?.length ?? 0)
      let req: http.ClientRequest
      const fail = (msg: string, status = 0, upstreamMessage = ''): void => {
        if (settled) return
        settled = true
        clearTimeout(overall)
        if (connectTimer !== null) clearTimeout(connectTimer)
        req.destroy()
        reject(new UpstreamError(msg, status, upstreamMessage))
      }
      const overall = setTimeout(() => {
        fail(`${label}: timed out after ${this.opts.requestTimeoutMs}ms`)
      }, this.opts.requestTimeoutMs)
      try {
        req = http.request(url, { method, headers, agent: this.agent })
      } catch (err) {
        clearTimeout(overall)
        reject(new UpstreamError(`${label}: ${(err as Error).message}`))
        return
      }
      req.on('socket', (sock) => {
        if (!sock.connecting) return
        connectTimer = setTimeout(() => { fail(`${label}: connect timed out after ${this.opts.connectTimeoutMs}ms`) }, this.opts.connectTimeoutMs)
        sock.once('connect', () => { if (connectTimer !== null) clearTimeout(connectTimer) })
      })
      req.on('error', (err: NodeJS.ErrnoException) => {
        fail(`${label}: ${describeError(err)}`)
      })
      req.on('response', (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (c: Buffer) => {
          size += c.length
          if (size > MAX_BODY_BYTES) { fail(`${label}: response larger than ${MAX_BODY_BYTES} bytes`); return }
          chunks.push(c)
        })
        res.on('error', (err) => { fail(`${label}: ${describeError(err)}`) })
        res.on('end', () => {
          if (settled) return
          const status = res.statusCode ?? 0
          const buf = Buffer.concat(chunks)
          const ok = anyStatus || status === 200 || (any2xx && status >= 200 && status < 300)
          if (!ok) {
            const text = buf.toString('utf8', 0, Math.min(buf.length, 300))
            fail(`${label}: got response ${status} ${STATUS_CODES[status] ?? ''} ${JSON.stringify(text)}`, status, nsqMessage(buf))
            return
          }
          settled = true
          clearTimeout(overall)
          resolve({ status, body: buf })
        })
      })
      req.end(body ?? undefined)
    })
  }
}

function describeError (err: NodeJS.ErrnoException): string {
  if (err.code === 'ECONNREFUSED') return `connection refused (${err.message.replace(/^connect /, '')})`
  if (err.code === 'ENOTFOUND') return `no such host (${err.message.replace(/^getaddrinfo /, '')})`
  return err.message
}

function nsqMessage (buf: Buffer): string {
  try {
    const v = JSON.parse(buf.toString('utf8')) as unknown
    if (typeof v === 'object' && v !== null && typeof (v as { message?: unknown }).message === 'string') {
      return (v as { message: string }).message
    }
  } catch { /* not JSON */ }
  return ''
}

function parseJson (res: HttpResult, label: string): unknown {
  try {
    return JSON.parse(res.body.toString('utf8')) as unknown
  } catch {
    const text = res.body.toString('utf8', 0, Math.min(res.body.length, 80))
    throw new UpstreamError(`${label}: response is not JSON (starts with ${JSON.stringify(text)})`, res.status)
  }
}
