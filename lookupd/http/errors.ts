// nsqlookupd's HTTP error catalogue (spec: lookupd.md §5, nsqd-http.md §2, §4). Every error answers
// {"message":"<TOKEN>"} with the token's status and the X-NSQ-Content-Type header.

export const HTTP_ERRORS = {
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  INVALID_REQUEST: 400,
  INTERNAL_ERROR: 500,
  MISSING_ARG_TOPIC: 400,
  INVALID_ARG_TOPIC: 400,
  MISSING_ARG_CHANNEL: 400,
  INVALID_ARG_CHANNEL: 400,
  MISSING_ARG_NODE: 400,
  TOPIC_NOT_FOUND: 404,
  CHANNEL_NOT_FOUND: 404
} as const

export type HttpErrorToken = keyof typeof HTTP_ERRORS

export class HttpApiError extends Error {
  override name = 'HttpApiError'
  readonly statusCode: number
  readonly token: HttpErrorToken

  constructor (token: HttpErrorToken) {
    super(token)
    this.token = token
    this.statusCode = HTTP_ERRORS[token]
  }
}

export const NSQ_CONTENT_TYPE_HEADER = 'X-NSQ-Content-Type'
export const NSQ_CONTENT_TYPE_V1 = 'nsq; version=1.0'
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8'
