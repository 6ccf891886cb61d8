// Server-Sent Events (README "Browser gateway"): GET /sse?topic=T&channel=C subscribes the
// response stream to a channel. Each message is an event with `id:` its message id and `data:`
// its body as UTF-8 (one data: line per body line), or with format=json the message as JSON.
// By default a message is finished once written to the socket; with ack=manual it stays in flight
// until POST /sse/fin (or /sse/req, /sse/touch) names it. GET /ws answers 426 to a plain request.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Socket } from 'node:net'
import { isValidTopicName, isValidChannelName } from '../../client/wire/names.js'
import { MESSAGE_ID_LENGTH } from '../../client/wire/message.js'
import type { Message } from '../core/message.js'
import type { RouteSpec } from '../http/respond.js'
import { HttpApiError } from '../http/errors.js'
import { sendText } from '../http/respond.js'
import { GatewayClient, messageJson, STATE_SUBSCRIBED, type GatewayTransport } from './client.js'
import type { Gateway } from './gateway.js'

export const GATEWAY_ROUTES: readonly RouteSpec[] = [
  { method: 'GET', url: '/ws' },
  { method: 'GET', url: '/sse' },
  { method: 'POST', url: '/sse/fin' },
  { method: 'POST', url: '/sse/req' },
  { method: 'POST', url: '/sse/touch' }
]

const LINE_BREAK = /\r\n|\r|\n/

/** One SSE event: `id:` then a `data:` line per line of the text, then a blank line. */
export function sseEvent (id: string, text: string): string {
  const lines = text.split(LINE_BREAK)
  let out = `id: ${id}\n`
  for (let i = 0; i < lines.length; i++) out += `data: ${lines[i] as string}\n`
  return out + '\n'
}

class SseTransport implements GatewayTransport {
  readonly kind = 'sse'
  private readonly reply: FastifyReply
  private readonly json: boolean
  private readonly base64: boolean
  constructor (reply: FastifyReply, json: boolean, base64: boolean) {
    this.reply = reply
    this.json = json
    this.base64 = base64
  }

  format (msg: Message): string {
    if (this.json) return sseEvent(msg.id, messageJson(msg, this.base64))
    return sseEvent(msg.id, msg.body.toString(this.base64 ? 'base64' : 'utf8'))
  }

  write (texts: Array<string | Buffer>): boolean {
    const raw = this.reply.raw
    if (raw.destroyed || raw.writableEnded) return true
    return raw.write(texts.length === 1 ? texts[0] as string : (texts as string[]).join(''))
  }

  heartbeat (): void {
    const raw = this.reply.raw
    if (!raw.destroyed && !raw.writableEnded) raw.write(': heartbeat\n\n')
  }

  destroy (): void { this.reply.raw.destroy() }
}

function str (v: unknown): string | undefined {
  return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined
}

function failed (verb: 'fin' | 'req' | 'touch'): HttpApiError {
  if (verb === 'fin') return new HttpApiError(400, 'FIN_FAILED')
  if (verb === 'req') return new HttpApiError(400, 'REQ_FAILED')
  return new HttpApiError(400, 'TOUCH_FAILED')
}

export function gatewayRoutes (gw: Gateway) {
  return async function (app: FastifyInstance): Promise<void> {
    app.get('/ws', async () => { throw new HttpApiError(426, 'UPGRADE_REQUIRED') })

    app.get('/sse', async (req: FastifyRequest, reply: FastifyReply) => {
      const q = req.query as Record<string, unknown>
      const topicName = str(q.topic)
      const channelName = str(q.channel)
      if (topicName === undefined) throw new HttpApiError(400, 'MISSING_ARG_TOPIC')
      if (!isValidTopicName(topicName)) throw new HttpApiError(400, 'INVALID_TOPIC')
      if (channelName === undefined) throw new HttpApiError(400, 'MISSING_ARG_CHANNEL')
      if (!isValidChannelName(channelName)) throw new HttpApiError(400, 'INVALID_CHANNEL')
      const o = gw.nsqd.options
      let rdy = Math.min(100, o.maxRdyCount)
      const rdyArg = str(q.rdy)
      if (rdyArg !== undefined) {
        const n = /^\d+$/.test(rdyArg) ? Number(rdyArg) : -1
        if (n < 1 || n > o.maxRdyCount) throw new HttpApiError(400, 'INVALID_RDY')
        rdy = n
      }
      const no = gw.admit(req.headers.origin)
      if (no !== null) throw no
      const socket = req.raw.socket as Socket
      const auth = await gw.authenticate(req.url, socket)
      if (auth instanceof HttpApiError) throw auth
      if (auth !== null && !auth.isAllowed(topicName, channelName)) throw new HttpApiError(403, 'UNAUTHORIZED')
      if (gw.nsqd.draining) throw new HttpApiError(503, 'DRAINING')
      const topic = gw.nsqd.getTopic(topicName)
      if (topic.exiting) throw new HttpApiError(503, 'EXITING')
      const channel = topic.getChannel(channelName)
      const transport = new SseTransport(reply, str(q.format) === 'json', str(q.encoding) === 'base64')
      const client = new GatewayClient(gw.nsqd.nextClientId(), socket, transport, gw, {
        msgTimeoutMs: o.msgTimeoutMs,
        heartbeatIntervalMs: o.clientTimeoutMs / 2,
        userAgent: req.headers['user-agent'] ?? '',
        tls: 'encrypted' in socket && (socket as { encrypted?: boolean }).encrypted === true,
        readDeadline: false
      })
      client.autoFinish = str(q.ack) !== 'manual'
      if (auth !== null) client.setAuth(auth)
      const err = channel.addConsumer(client)
      if (err !== null) { client.cleanup(); throw new HttpApiError(503, 'SUB_FAILED') }
      gw.register(client)
      reply.hijack()
      const headers: Record<string, string> = {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache',
        'X-Accel-Buffering': 'no',
        'X-NSQ-Client-Id': String(client.id)
      }
      const origin = req.headers.origin
      if (origin !== undefined && o.wsAllowedOrigins.length > 0) headers['Access-Control-Allow-Origin'] = origin
      reply.raw.writeHead(200, headers)
      // a comment first, so the browser's EventSource opens at once
      reply.raw.write(': subscribed\n\n')
      reply.raw.on('close', () => { client.cleanup() })
      client.state = STATE_SUBSCRIBED
      client.channel = channel
      client.setReady(rdy)
    })

    const ack = (verb: 'fin' | 'req' | 'touch') => async (req: FastifyRequest, reply: FastifyReply) => {
      const q = req.query as Record<string, unknown>
      const topicName = str(q.topic) ?? ''
      const channelName = str(q.channel) ?? ''
      const id = str(q.id) ?? ''
      if (!isValidTopicName(topicName)) throw new HttpApiError(400, 'INVALID_TOPIC')
      if (!isValidChannelName(channelName)) throw new HttpApiError(400, 'INVALID_CHANNEL')
      if (id.length !== MESSAGE_ID_LENGTH) throw new HttpApiError(400, 'INVALID_MESSAGE_ID')
      // with --auth-http-address the request needs an auth_secret allowed to subscribe there
      const auth = await gw.authenticate(req.url, req.raw.socket as Socket)
      if (auth instanceof HttpApiError) throw auth
      if (auth !== null && !auth.isAllowed(topicName, channelName)) throw new HttpApiError(403, 'UNAUTHORIZED')
      const ch = gw.nsqd.getExistingTopic(topicName)?.getExistingChannel(channelName)
      if (ch === undefined) throw new HttpApiError(404, 'CHANNEL_NOT_FOUND')
      const msg = ch.inFlight.get(id)
      const client = msg === undefined ? undefined : gw.clients.get(msg.clientId)
      if (client === undefined || client.channel !== ch) throw failed(verb)
      let err: string | null
      if (verb === 'fin') {
        err = client.finish(id)
      } else if (verb === 'touch') {
        err = client.touch(id)
      } else {
        const d = str(q.delay) ?? '0'
        if (!/^\d+$/.test(d)) throw new HttpApiError(400, 'INVALID_DELAY')
        err = client.requeue(id, Math.min(Number(d), gw.nsqd.options.maxReqTimeoutMs))
      }
      if (err !== null) throw failed(verb)
      return sendText(reply, 'OK')
    }
    app.post('/sse/fin', ack('fin'))
    app.post('/sse/req', ack('req'))
    app.post('/sse/touch', ack('touch'))
  }
}
