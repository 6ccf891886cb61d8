// NSQAdmin: the web UI and JSON API as a library. `new NSQAdmin(opts)`, `await start()`,
// `await close()`; tests start it in-process on port 0 and read `httpAddress`, or call
// `httpServer.inject()`. It talks to lookupd/nsqd only through ClusterInfo (HTTP).

import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify'
import { ClusterInfo } from './cluster-info.js'
import { HttpClient } from './http-client.js'
import { createLogger } from './logger.js'
import type { Logger } from './logger.js'
import { VERSION, defaultOptions, joinHostPort, normaliseBasePath, splitHostPort, validateOptions } from './options.js'
import type { Options } from './options.js'
import { Sampler } from './sampler.js'
import type { AdminContext } from './api/context.js'
import { ApiError, sendJson } from './api/context.js'
import { registerReadRoutes } from './api/read.js'
import { registerActionRoutes } from './api/actions.js'
import { registerMessageRoutes } from './api/messages.js'
import { LiveStreams, registerLiveRoutes } from './api/live.js'
import { registerConfigRoutes } from './api/config.js'
import { installRoutes } from './api/route.js'
import { registerLoginRoutes } from './api/login.js'
import { Auth } from './auth.js'
import { registerStatic, uiDirOf } from './static.js'

export interface BoundAddress {
  host: string
  port: number
  /** host:port */
  address: string
}

export class NSQAdmin {
  readonly logger: Logger
  readonly cluster: ClusterInfo
  readonly sampler: Sampler
  private opts: Options
  private readonly http: HttpClient
  private readonly app: FastifyInstance
  private readonly live = new LiveStreams()
  private bound: BoundAddress | null = null
  private started = false
  private closing: Promise<void> | null = null

  constructor (opts: Partial<Options> = {}) {
    this.opts = { ...defaultOptions(), ...opts }
    validateOptions(this.opts)
    this.logger = this.opts.logger ?? createLogger(this.opts.logPrefix, () => this.opts.logLevel)
    this.http = new HttpClient({
      connectTimeoutMs: this.opts.httpClientConnectTimeoutMs,
      requestTimeoutMs: this.opts.httpClientRequestTimeoutMs,
      userAgent: `nsqadmin/v${VERSION}`
    })
    this.cluster = new ClusterInfo(this.http, this.opts.lookupdHttpAddresses, this.opts.nsqdHttpAddresses)
    this.sampler = new Sampler(this.cluster, this.logger, this.opts.historyIntervalMs, this.opts.historyWindowMs)
    const basePath = normaliseBasePath(this.opts.basePath)
    const ctx: AdminContext = {
      cluster: this.cluster,
      sampler: this.sampler,
      http: this.http,
      logger: this.logger,
      options: () => this.opts,
      basePath,
      auth: this.opts.usersFile === ''
        ? null
        : new Auth({ usersFile: this.opts.usersFile, sessionSecret: this.opts.sessionSecret, sessionTtlMs: this.opts.sessionTtlMs, logger: this.logger })
    }
    this.app = this.build(ctx, basePath)
  }

  get options (): Readonly<Options> {
    return this.opts
  }

  /** Replaces the options as a whole (PUT /config/:opt). */
  swapOptions (next: Options): void {
    validateOptions(next)
    this.opts = next
    this.cluster.lookupdAddresses = [...next.lookupdHttpAddresses]
  }

  get httpAddress (): BoundAddress {
    if (this.bound === null) throw new Error('nsqadmin is not started')
    return this.bound
  }

  /** The fastify instance (for inject() in tests). */
  get httpServer (): FastifyInstance {
    return this.app
  }

  private build (ctx: AdminContext, basePath: string): FastifyInstance {
    const app = Fastify({ logger: false, forceCloseConnections: true, return503OnClosing: false, routerOptions: { ignoreTrailingSlash: true } })
    // Bodies are kept as text; handlers parse JSON themselves so a bad body gets NSQ's 400.
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => { done(null, body) })

    app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
      if (err instanceof ApiError) {
        const body: Record<string, unknown> = { message: err.message }
        if (err.errors.length > 0) body.errors = err.errors
        return sendJson(reply, body, err.status)
      }
      const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500
      if (status === 500) this.logger.error(`HTTP: ${req.method} ${req.url} - ${err.stack ?? err.message}`)
      return sendJson(reply, { message: status === 500 ? 'INTERNAL_ERROR' : status === 413 ? 'BODY_TOO_BIG' : 'INVALID_REQUEST' }, status)
    })
    app.setNotFoundHandler((req: FastifyRequest, reply) => {
      const p = req.url.split('?')[0] ?? ''
      if (p.startsWith(`${basePath}/api/`) || p.startsWith(`${basePath}/config/`)) return sendJson(reply, { message: 'NOT_FOUND' }, 404)
      return reply.code(404).type('text/plain; charset=utf-8').send('NOT_FOUND')
    })

    app.register(async (scoped) => {
      if (ctx.auth !== null) registerLoginRoutes(scoped, ctx, ctx.auth, () => uiDirOf(ctx.options()))
      registerReadRoutes(scoped, ctx)
      registerActionRoutes(scoped, ctx)
      registerMessageRoutes(scoped, ctx)
      registerLiveRoutes(scoped, ctx, this.live)
      registerConfigRoutes(scoped, ctx, (next) => { this.swapOptions(next) })
      installRoutes(scoped)
      registerStatic(scoped, ctx)
    }, { prefix: basePath })
    return app
  }

  async start (): Promise<void> {
    if (this.started) throw new Error('nsqadmin already started')
    this.started = true
    this.logger.info(`nsqadmin v${VERSION} (built w/node ${process.version})`)
    try {
      const h = splitHostPort(this.opts.httpAddress, '--http-address')
      await this.app.listen({ host: h.host, port: h.port })
      const a = this.app.server.address() as AddressInfo
      this.bound = { host: a.address, port: a.port, address: joinHostPort(a.address, a.port) }
      this.logger.info(`HTTP: listening on ${this.bound.address}`)
      this.sampler.start()
    } catch (err) {
      await this.close()
      throw err
    }
  }

  /** Stops sampling, ends live streams, closes the listener. Safe to call more than once. */
  close (): Promise<void> {
    if (this.closing === null) {
      this.closing = (async () => {
        await this.sampler.close()
        this.live.closeAll()
        await this.app.close()
        this.http.close()
      })()
    }
    return this.closing
  }
}
