// A typed browser-side client for nsqd's WebSocket gateway (nsqd/gateway/README.md). An ES module
// with no Node APIs and no imports: it runs in a page as it is (after tsc), and in Node with the
// `ws` package passed as `WebSocket`. It subscribes, hands out messages with finish / requeue /
// touch, publishes with a promise per request (settled by the ack carrying its ref), and reconnects
// with exponential backoff, subscribing again after each reconnect.

/** The part of the browser's WebSocket this client uses (the `ws` package has the same). */
export interface WebSocketLike {
  readonly readyState: number
  onopen: ((ev: unknown) => void) | null
  onclose: ((ev: unknown) => void) | null
  onerror: ((ev: unknown) => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  send (data: string): void
  close (code?: number, reason?: string): void
}

export type WebSocketConstructor = new (url: string) => WebSocketLike

export interface GatewayMessage {
  readonly id: string
  readonly attempts: number
  /** Publish time, milliseconds since the epoch. */
  readonly timestamp: number
  /** UTF-8 text, or base64 when subscribed with encoding 'base64'. */
  readonly body: string
  finish (): void
  requeue (delayMs?: number): void
  touch (): void
}

export interface GatewaySubscription {
  topic: string
  channel: string
  /** The credit (RDY window); default 1. */
  rdy?: number
  encoding?: 'text' | 'base64'
}

export interface GatewayClientOptions {
  /** ws://host:4151/ws (with ?auth_secret=… when the node uses an auth server). */
  url: string
  subscribe?: GatewaySubscription
  /** Called for each message; it must finish, requeue or touch it. */
  onMessage?: (msg: GatewayMessage) => void
  /** An error frame that answers no publish (FIN failures, a refused SUB, …). */
  onError?: (code: string, message: string) => void
  /** Connected (again) and subscribed when a subscription is set. */
  onOpen?: () => void
  /** Disconnected; a reconnect follows unless close() was called. */
  onClose?: () => void
  /** First and largest reconnect delay (ms); defaults 250 and 30000. */
  reconnectMinMs?: number
  reconnectMaxMs?: number
  /** The WebSocket constructor; defaults to globalThis.WebSocket. */
  WebSocket?: WebSocketConstructor
}

export class GatewayPublishError extends Error {
  readonly code: string
  constructor (code: string, message: string) {
    super(message)
    this.name = 'GatewayPublishError'
    this.code = code
  }
}

const OPEN = 1

interface Pending { resolve: () => void, reject: (err: Error) => void }

export class NsqGatewayClient {
  private readonly o: GatewayClientOptions
  private readonly Ctor: WebSocketConstructor
  private ws: WebSocketLike | null = null
  private closed = false
  private delay: number
  private timer: ReturnType<typeof setTimeout> | null = null
  private nextRef = 1
  private readonly pending = new Map<number, Pending>()
  private rdy: number

  constructor (options: GatewayClientOptions) {
    this.o = options
    const ctor = options.WebSocket ?? (globalThis as unknown as { WebSocket?: WebSocketConstructor }).WebSocket
    if (ctor === undefined) throw new Error('no WebSocket: pass options.WebSocket')
    this.Ctor = ctor
    this.delay = options.reconnectMinMs ?? 250
    this.rdy = options.subscribe?.rdy ?? 1
    this.connect()
  }

  /** True while the socket is open. */
  get connected (): boolean {
    return this.ws !== null && this.ws.readyState === OPEN
  }

  /** Changes the credit (RDY window); kept across reconnects. */
  setRdy (count: number): void {
    this.rdy = count
    this.send({ op: 'rdy', count })
  }

  /** Publishes one body, or several as one batch; resolves on the server's ack. */
  async publish (topic: string, body: string | string[], opts: { deferMs?: number, encoding?: 'text' | 'base64' } = {}): Promise<void> {
    if (!this.connected) throw new GatewayPublishError('E_NOT_CONNECTED', 'not connected')
    const ref = this.nextRef++
    const frame: Record<string, unknown> = Array.isArray(body) ? { op: 'mpub', topic, bodies: body, ref } : { op: 'pub', topic, body, ref }
    if (opts.deferMs !== undefined && !Array.isArray(body)) frame.defer = opts.deferMs
    if (opts.encoding === 'base64') frame.encoding = 'base64'
    await new Promise<void>((resolve, reject) => {
      this.pending.set(ref, { resolve, reject })
      this.send(frame)
    })
  }

  /** Closes for good (no reconnect). */
  close (): void {
    this.closed = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    if (this.ws !== null) this.ws.close(1000)
  }

  private send (frame: Record<string, unknown>): void {
    const ws = this.ws
    if (ws !== null && ws.readyState === OPEN) ws.send(JSON.stringify(frame))
  }

  private connect (): void {
    const ws = new this.Ctor(this.o.url)
    this.ws = ws
    ws.onopen = () => {
      this.delay = this.o.reconnectMinMs ?? 250
      const sub = this.o.subscribe
      if (sub !== undefined) this.send({ op: 'sub', topic: sub.topic, channel: sub.channel, rdy: this.rdy, encoding: sub.encoding ?? 'text' })
      else this.o.onOpen?.()
    }
    ws.onmessage = (ev) => { this.onFrame(ev.data) }
    ws.onerror = () => {}
    ws.onclose = () => {
      if (this.ws !== ws) return
      this.ws = null
      for (const p of this.pending.values()) p.reject(new GatewayPublishError('E_NOT_CONNECTED', 'connection closed before the ack'))
      this.pending.clear()
      this.o.onClose?.()
      if (this.closed) return
      const wait = this.delay
      this.delay = Math.min(this.delay * 2, this.o.reconnectMaxMs ?? 30_000)
      this.timer = setTimeout(() => { this.timer = null; if (!this.closed) this.connect() }, wait)
    }
  }

  private onFrame (data: unknown): void {
    if (typeof data !== 'string') data = String(data)
    let f: Record<string, any>
    try {
      f = JSON.parse(data as string)
    } catch {
      return
    }
    switch (f.type) {
      case 'msg': {
        const id = f.id as string
        const msg: GatewayMessage = {
          id,
          attempts: f.attempts,
          timestamp: f.timestamp,
          body: f.body,
          finish: () => { this.send({ op: 'fin', id }) },
          requeue: (delayMs = 0) => { this.send({ op: 'req', id, delay: delayMs }) },
          touch: () => { this.send({ op: 'touch', id }) }
        }
        this.o.onMessage?.(msg)
        return
      }
      case 'ok':
        if (f.op === 'sub') this.o.onOpen?.()
        return
      case 'ack': {
        const p = this.pending.get(f.ref)
        if (p !== undefined) { this.pending.delete(f.ref); p.resolve() }
        return
      }
      case 'error': {
        const p = f.ref === undefined ? undefined : this.pending.get(f.ref)
        if (p !== undefined) { this.pending.delete(f.ref); p.reject(new GatewayPublishError(f.code, f.message)) }
        else this.o.onError?.(f.code, f.message)
      }
    }
  }
}
