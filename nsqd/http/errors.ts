// nsqd's HTTP error catalogue (nsqd-http.md §8). One class, HttpApiError(status, TOKEN); the server's
// single error handler turns it into {"message":"TOKEN"} with the X-NSQ-Content-Type header.

/** Every token nsqd answers with, and the statuses it is used with. */
export const HTTP_ERRORS = {
  INVALID_REQUEST: [400],
  MISSING_ARG_TOPIC: [400],
  INVALID_TOPIC: [400],
  INVALID_ARG_TOPIC: [400],
  MISSING_ARG_CHANNEL: [400],
  INVALID_ARG_CHANNEL: [400],
  MSG_EMPTY: [400],
  INVALID_DEFER: [400],
  INVALID_OPTION: [400],
  INVALID_VALUE: [400, 413],
  AUTH_REQUIRED: [401],
  AUTH_FAILED: [401],
  TLS_REQUIRED: [403],
  UNAUTHORIZED: [403],
  TOPIC_NOT_FOUND: [404],
  CHANNEL_NOT_FOUND: [404],
  NOT_FOUND: [404],
  METHOD_NOT_ALLOWED: [405],
  MSG_TOO_BIG: [413],
  BODY_TOO_BIG: [413],
  BAD_BODY: [413],
  BAD_MESSAGE: [413],
  INTERNAL_ERROR: [500],
  EXITING: [503],
  /** Replication: too few replicas in sync, or this node stopped being the primary. */
  NOT_ENOUGH_REPLICAS: [503],
  /** Drain mode (nsqd/drain.ts), not in NSQ: the node refuses publishes while it drains. */
  DRAINING: [503],
  /** Drain of a replicated primary: no in-sync standby to hand over to (nsqd/replication). */
  NO_INSYNC_STANDBY: [503],
  /** The browser gateway (nsqd/gateway), not in NSQ. */
  UPGRADE_REQUIRED: [426],
  INVALID_CHANNEL: [400],
  INVALID_RDY: [400],
  INVALID_DELAY: [400],
  INVALID_MESSAGE_ID: [400],
  FIN_FAILED: [400],
  REQ_FAILED: [400],
  TOUCH_FAILED: [400],
  ORIGIN_NOT_ALLOWED: [403],
  SUB_FAILED: [503],
  /** Delivery policies (POST /channel/config), not in NSQ. */
  INVALID_JSON: [400],
  INVALID_CONFIG_KEY: [400],
  INVALID_MAX_ATTEMPTS: [400],
  INVALID_DEAD_LETTER_TOPIC: [400],
  INVALID_MESSAGE_TTL: [400],
  INVALID_ENVELOPE: [400],
  /** Peek and replay (nsqd/http/peek.ts), not in NSQ. */
  INVALID_N: [400],
  INVALID_OFFSET: [400],
  INVALID_MAX_BODY: [400],
  INVALID_ENCODING: [400],
  INVALID_STATE: [400],
  MESSAGE_NOT_FOUND: [404],
  INVALID_ARG_TO: [400],
  INVALID_MAX_QUEUE_MESSAGES: [400],
  INVALID_MAX_QUEUE_BYTES: [400],
  INVALID_QUEUE_FULL_POLICY: [400],
  /** Bounded queues (not in NSQ): the topic or one of its channels is full under "refuse". */
  QUEUE_FULL: [503],
  TOO_MANY_CONNECTIONS: [503]
} as const

export type HttpErrorToken = keyof typeof HTTP_ERRORS

export class HttpApiError extends Error {
  override name = 'HttpApiError'
  readonly statusCode: number
  readonly token: HttpErrorToken
  /** Answer with "Connection: close" (the request body was left unread because it was too big). */
  readonly closeConnection: boolean

  constructor (statusCode: number, token: HttpErrorToken, closeConnection = false) {
    super(token)
    this.statusCode = statusCode
    this.token = token
    this.closeConnection = closeConnection
  }
}

export const NSQ_CONTENT_TYPE_HEADER = 'X-NSQ-Content-Type'
export const NSQ_CONTENT_TYPE_V1 = 'nsq; version=1.0'
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8'
export const TEXT_CONTENT_TYPE = 'text/plain; charset=utf-8'
