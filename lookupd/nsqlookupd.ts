// NSQLookupd: the daemon as a library. `new NSQLookupd(opts)`, `await start()`, `await close()`.
// Tests start it in-process on port 0 and read the bound addresses from `tcpAddress`/`httpAddress`.

import os from 'node:os'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { createLogger } from './logger.js'
import type { Logger } from './logger.js'
import { VERSION, defaultOptions, splitHostPort, validateOptions } from './options.js'
import type { Options } from './options.js'
import type { ProtocolContext } from './protocol-v1.js'
import { RegistrationDB } from './registration-db.js'
import { LookupTcpServer, formatAddress } from './tcp/server.js'
import { buildHttpServer } from './http/server.js'
import type { HttpContext } from './http/respond.js'
import { goJson } from '../client/wire/go-json.js'

export interface BoundAddress {
  host: string
  port: number
  /** host:port */
  address: string
}

export class NSQLookupd {
  readonly db = new RegistrationDB()
  readonly logger: Logger
  private opts: Options
  private readonly tcp: LookupTcpServer
  private readonly http: FastifyInstance
  private readonly hostname = os.hostname()
  private tcpBound: BoundAddress | null = null
  private httpBound: BoundAddress | null = null
  private identifyBody: Buffer | null = null
  private started = false
  private closing: Promise<void> | null = null
  /** Clock in ms; tests may replace it. */
  now: () => number = Date.now

  constructor (opts: Partial<Options> = {}) {
    this.opts = { ...defaultOptions(), ...opts }
    validateOptions(this.opts)
    this.logger = this.opts.logger ?? createLogger(this.opts.logPrefix, this.opts.logLevel)
    const protocolCtx: ProtocolContext = {
      db: this.db,
      logger: this.logger,
      now: () => this.now(),
      identifyResponse: () => this.identifyResponse(),
      maxIdentifyBodySize: this.opts.maxIdentifyBodySize
    }
    const httpCtx: HttpContext = {
      db: this.db,
      logger: this.logger,
      version: VERSION,
      now: () => this.now(),
      inactiveProducerTimeoutMs: () => this.opts.inactiveProducerTimeoutMs,
      tombstoneLifetimeMs: () => this.opts.tombstoneLifetimeMs
    }
    this.tcp = new LookupTcpServer(protocolCtx)
    this.http = buildHttpServer(httpCtx)
  }

  get options (): Readonly<Options> {
    return this.opts
  }

  /** The bound TCP address (after start()). */
  get tcpAddress (): BoundAddress {
    if (this.tcpBound === null) throw new Error('nsqlookupd is not started')
    return this.tcpBound
  }

  /** The bound HTTP address (after start()). */
  get httpAddress (): BoundAddress {
    if (this.httpBound === null) throw new Error('nsqlookupd is not started')
    return this.httpBound
  }

  /** The fastify instance (for inject() in tests). */
  get httpServer (): FastifyInstance {
    return this.http
  }

  async start (): Promise<void> {
    if (this.started) throw new Error('nsqlookupd already started')
    this.started = true
    this.logger.info(`nsqlookupd v${VERSION} (built w/node ${process.version})`)
    try {
      const t = splitHostPort(this.opts.tcpAddress, '--tcp-address')
      this.tcpBound = bound(await this.tcp.listen(t.host, t.port))
      const h = splitHostPort(this.opts.httpAddress, '--http-address')
      await this.http.listen({ host: h.host, port: h.port })
      this.httpBound = bound(this.http.server.address() as AddressInfo)
      this.logger.info(`HTTP: listening on ${this.httpBound.address}`)
    } catch (err) {
      await this.close()
      throw err
    }
  }

  /** Closes listeners and every connection. Safe to call more than once. */
  close (): Promise<void> {
    if (this.closing === null) {
      this.closing = (async () => {
        await this.tcp.close()
        await this.http.close()
      })()
    }
    return this.closing
  }

  private identifyResponse (): Buffer {
    if (this.identifyBody === null) {
      // Keys alphabetical, as Go encodes a map; ports are the real listening ones.
      const body = Buffer.from(goJson({
        broadcast_address: this.opts.broadcastAddress,
        hostname: this.hostname,
        http_port: this.httpBound?.port ?? 0,
        tcp_port: this.tcpBound?.port ?? 0,
        version: VERSION
      }), 'utf8')
      if (this.httpBound === null) return body // not cached until both ports are known
      this.identifyBody = body
    }
    return this.identifyBody
  }
}

function bound (a: AddressInfo): BoundAddress {
  return { host: a.address, port: a.port, address: formatAddress(a) }
}
