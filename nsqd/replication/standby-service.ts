// What a standby answers on nsqd's client addresses (kept bound so the primary's NSQD can take them
// over on promotion, with the same ports registered in etcd and lookupd):
//   TCP: after the client's first bytes, one error frame
//        "E_INVALID this nsqd is a replication standby; the primary is <tcp address>", then close.
//   HTTP: GET /ping → 200 OK; GET /info and GET /stats (format=json or text) with the `replication`
//        object; GET /metrics (nsq_info, nsq_healthy, the nsq_replication_* families, process
//        metrics); GET and PUT /config/draining (PUT `true`: this standby leaves the group, see
//        ReplicatedNode.drain); anything else → 503 {"message":"NOT_PRIMARY","primary":"<http address>"}.

import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import { FRAME_TYPE_ERROR, encodeFrame } from '../../client/wire/frames.js'
import { Registry, collectDefaultMetrics } from 'prom-client'
import { listen } from '../tcp/server.js'
import { METRICS_CONTENT_TYPE, standbyMetricsBody } from '../http/metrics.js'
import type { ReplicatedNode } from './node.js'

const NSQ_CONTENT_TYPE = 'nsq; version=1.0'

export class StandbyService {
  private readonly node: ReplicatedNode
  private tcp: net.Server | null = null
  private http: http.Server | null = null
  private readonly sockets = new Set<net.Socket>()
  private defaults: Registry | null = null

  constructor (node: ReplicatedNode) {
    this.node = node
  }

  /** Binds both addresses (http may be ''); returns the bound ones. */
  async listen (tcpAddress: string, httpAddress: string): Promise<{ tcp: string, http: string }> {
    const tcp = net.createServer((s) => { this.onTcp(s) })
    this.tcp = tcp
    const tcpBound = await listen(tcp, tcpAddress)
    let httpBound = ''
    if (httpAddress !== '') {
      const h = http.createServer((req, res) => { void this.onHttp(req, res) })
      h.on('connection', (s: net.Socket) => { this.sockets.add(s); s.on('close', () => { this.sockets.delete(s) }) })
      this.http = h
      httpBound = await listen(h as unknown as net.Server, httpAddress)
    }
    return { tcp: tcpBound, http: httpBound }
  }

  async close (): Promise<void> {
    const tcp = this.tcp
    const h = this.http
    this.tcp = null
    this.http = null
    for (const s of this.sockets) s.destroy()
    this.sockets.clear()
    if (tcp !== null) await new Promise<void>((resolve) => { tcp.close(() => { resolve() }) })
    if (h !== null) await new Promise<void>((resolve) => { h.close(() => { resolve() }) })
  }

  private onTcp (s: net.Socket): void {
    this.sockets.add(s)
    s.on('close', () => { this.sockets.delete(s) })
    s.on('error', () => {})
    s.once('data', () => {
      void this.node.primaryTcpAddress().then((primary) => {
        const where = primary === '' ? 'no primary is elected right now' : `the primary is ${primary}`
        s.end(encodeFrame(FRAME_TYPE_ERROR, `E_INVALID this nsqd is a replication standby; ${where}`))
      })
    })
  }

  private async onHttp (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x')
    const send = (status: number, body: string, json: boolean): void => {
      res.writeHead(status, json
        ? { 'Content-Type': 'application/json; charset=utf-8', 'X-NSQ-Content-Type': NSQ_CONTENT_TYPE }
        : { 'Content-Type': 'text/plain; charset=utf-8' })
      res.end(body)
    }
    const n = this.node
    if (req.method === 'GET' && url.pathname === '/ping') return send(200, 'OK', false)
    if (req.method === 'GET' && url.pathname === '/info') {
      return send(200, JSON.stringify({
        version: n.version,
        broadcast_address: n.options.broadcastAddress,
        hostname: os.hostname(),
        http_port: portOf(n.httpAddress),
        tcp_port: portOf(n.tcpAddress),
        start_time: Math.floor(n.startTime / 1000),
        replication: n.info()
      }), true)
    }
    if (url.pathname === '/config/draining' && (req.method === 'GET' || req.method === 'PUT')) {
      if (req.method === 'PUT') {
        let body = ''
        for await (const chunk of req) { body += String(chunk); if (body.length > 64) break }
        if (body.trim() !== 'true') return send(400, JSON.stringify({ message: 'INVALID_VALUE' }), true)
        n.drain('PUT /config/draining')
      }
      return send(200, JSON.stringify(n.draining), true)
    }
    if (req.method === 'GET' && url.pathname === '/metrics') {
      if (this.defaults === null) {
        this.defaults = new Registry()
        collectDefaultMetrics({ register: this.defaults })
      }
      const body = await standbyMetricsBody(n.version, n.options.broadcastAddress, n.startTime, n.info(), this.defaults)
      res.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE })
      res.end(body)
      return
    }
    if (req.method === 'GET' && url.pathname === '/stats') {
      const start = Math.floor(n.startTime / 1000)
      if (url.searchParams.get('format') === 'json') {
        return send(200, JSON.stringify({ version: n.version, health: 'OK', start_time: start, topics: [], producers: [], replication: n.info() }), true)
      }
      const r = n.info()
      return send(200, `nsqd v${n.version} (replication standby of group ${String(r.group)}, epoch ${String(r.epoch)}, primary ${String(r.primary) || 'none'})\n# start ${new Date(n.startTime).toISOString()}\n# health: OK\n\nNO_TOPICS\n`, false)
    }
    let primary = ''
    const id = n.leaderId
    if (id !== undefined && n.coordinator !== null) primary = (await n.coordinator.member(id).catch(() => null))?.httpAddress ?? ''
    return send(503, JSON.stringify({ message: 'NOT_PRIMARY', primary }), true)
  }
}

function portOf (addr: string): number {
  return addr === '' ? 0 : Number(addr.slice(addr.lastIndexOf(':') + 1)) || 0
}
