// Pieces shared by nsqlookupd's route plugins: the context they close over and the V1 success
// responders (JSON with X-NSQ-Content-Type, or an empty body with no Content-Type).

import type { FastifyReply } from 'fastify'
import { goFramedBody } from '../../client/daemon/go-response.js'
import type { Logger } from '../logger.js'
import type { RegistrationDB } from '../registration-db.js'
import { JSON_CONTENT_TYPE, NSQ_CONTENT_TYPE_HEADER, NSQ_CONTENT_TYPE_V1 } from './errors.js'

/** What the HTTP handlers need from the daemon. */
export interface HttpContext {
  readonly db: RegistrationDB
  readonly logger: Logger
  readonly version: string
  now (): number
  inactiveProducerTimeoutMs (): number
  tombstoneLifetimeMs (): number
}

export interface RouteSpec {
  method: 'GET' | 'POST'
  url: string
}

export function sendJson (reply: FastifyReply, body: string): FastifyReply {
  return reply.code(200)
    .header(NSQ_CONTENT_TYPE_HEADER, NSQ_CONTENT_TYPE_V1)
    .header('Content-Type', JSON_CONTENT_TYPE)
    .send(goFramedBody(body))
}

export function sendEmpty (reply: FastifyReply): FastifyReply {
  return reply.code(200).header(NSQ_CONTENT_TYPE_HEADER, NSQ_CONTENT_TYPE_V1).send()
}
