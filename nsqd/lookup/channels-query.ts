// nsqd's HTTP query of lookupd's /channels (spec: nsqd-internals.md §2): GET
// http://<lookupd broadcast_address>:<http_port>/channels?topic=<t>, with separate connect and
// whole-request timeouts (NSQ: --http-client-connect-timeout 2 s, --http-client-request-timeout 5 s).

import http from 'node:http'

export interface HttpTimeouts {
  connectTimeoutMs: number
  requestTimeoutMs: number
}

const MAX_RESPONSE_BYTES = 5 * 1024 * 1024

export { joinHostPort } from '../../client/wire/address.js'

/** GETs a URL and parses the JSON body; rejects on non-200, timeouts, oversize or bad JSON. */
export function getJson (url: string, t: HttpTimeouts): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let done = false
    const finish = (err: Error | null, value?: unknown): void => {
      if (done) return
      done = true
      clearTimeout(requestTimer)
      if (err !== null) reject(err)
      else resolve(value)
    }
    const req = http.get(url, { agent: false, headers: { Accept: 'application/vnd.nsq; version=1.0' } }, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => {
        size += c.length
        if (size > MAX_RESPONSE_BYTES) {
          req.destroy()
          finish(new Error(`response from ${url} is larger than ${MAX_RESPONSE_BYTES} bytes`))
          return
        }
        chunks.push(c)
      })
      res.on('error', (err) => { finish(err) })
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8')
        if (res.statusCode !== 200) {
          finish(new Error(`got response ${res.statusCode ?? 0} ${JSON.stringify(body)}`))
          return
        }
        try {
          finish(null, JSON.parse(body))
        } catch (err) {
          finish(new Error(`invalid JSON from ${url} - ${(err as Error).message}`))
        }
      })
    })
    const requestTimer = setTimeout(() => {
      req.destroy()
      finish(new Error(`request to ${url} timed out after ${t.requestTimeoutMs}ms`))
    }, t.requestTimeoutMs)
    req.on('socket', (sock) => {
      if (!sock.connecting) return
      const connectTimer = setTimeout(() => {
        req.destroy()
        finish(new Error(`connect to ${url} timed out after ${t.connectTimeoutMs}ms`))
      }, t.connectTimeoutMs)
      sock.once('connect', () => { clearTimeout(connectTimer) })
      sock.once('close', () => { clearTimeout(connectTimer) })
    })
    req.on('error', (err) => { finish(err) })
  })
}

/** Channel names from one lookupd's /channels answer (V1, or the legacy {"data":...} envelope). */
export function channelsFromResponse (body: unknown): string[] {
  if (body === null || typeof body !== 'object') return []
  const o = body as { channels?: unknown, data?: { channels?: unknown } }
  const list = Array.isArray(o.channels) ? o.channels : Array.isArray(o.data?.channels) ? o.data.channels : []
  return list.filter((c): c is string => typeof c === 'string')
}
