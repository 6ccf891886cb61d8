// The V1 responders shared by the route plugins (nsqd-http.md §2): a string as text, a structure as
// JSON, nothing as an empty body without Content-Type; all with X-NSQ-Content-Type.

import type { FastifyReply } from 'fastify'
import type { NSQD } from '../nsqd.js'
import { goFramedBody } from '../../client/daemon/go-response.js'
import { HttpApiError, JSON_CONTENT_TYPE, NSQ_CONTENT_TYPE_HEADER, NSQ_CONTENT_TYPE_V1, TEXT_CONTENT_TYPE } from './errors.js'

/** What every route plugin is registered with. */
export interface RouteOptions {
  nsqd: NSQD
}

/** One route, for the router's 405 / OPTIONS / redirect behaviour. */
export interface RouteSpec {
  method: 'GET' | 'POST' | 'PUT'
  url: string
}

/** `type`: the Content-Type Go would sniff for this body (nsqd/http/sniff.ts) when not plain text. */
export function sendText (reply: FastifyReply, text: string | Buffer, type = TEXT_CONTENT_TYPE): FastifyReply {
  return reply.code(200)
    .header(NSQ_CONTENT_TYPE_HEADER, NSQ_CONTENT_TYPE_V1)
    .header('Content-Type', type)
    .send(goFramedBody(text))
}

/** `body` is already serialised JSON. */
export function sendJson (reply: FastifyReply, body: string): FastifyReply {
  return reply.code(200)
    .header(NSQ_CONTENT_TYPE_HEADER, NSQ_CONTENT_TYPE_V1)
    .header('Content-Type', JSON_CONTENT_TYPE)
    .send(goFramedBody(body))
}

export function sendEmpty (reply: FastifyReply): FastifyReply {
  return reply.code(200).header(NSQ_CONTENT_TYPE_HEADER, NSQ_CONTENT_TYPE_V1).send()
}

/** Runs an admin action; a failure inside it is logged and answered 500 INTERNAL_ERROR. */
export async function adminAction (nsqd: NSQD, what: string, fn: () => unknown): Promise<void> {
  try {
    await fn()
  } catch (err) {
    nsqd.logger.error(`HTTP: ${what} failed - ${(err as Error).message}`)
    throw new HttpApiError(500, 'INTERNAL_ERROR')
  }
}
