// Client-side error types. Broker answers arrive as ProtocolError (client/wire/errors.ts) with the
// exact NSQ code; everything the client itself detects is an NsqClientError with a stable code.

import { ProtocolError } from './wire/errors.js'

export { ProtocolError }
export type { ErrorCode } from './wire/errors.js'

export const CLIENT_ERROR_CODES = {
  /** The connection closed (or was never open) before the broker answered. */
  CONNECTION_CLOSED: 'CONNECTION_CLOSED',
  /** Dialing an nsqd failed (refused, unreachable, connect timeout). */
  CONNECT_FAILED: 'CONNECT_FAILED',
  /** A handshake step (magic, IDENTIFY, AUTH, SUB) failed or timed out. */
  HANDSHAKE_FAILED: 'HANDSHAKE_FAILED',
  /** The broker sent bytes that are not a valid NSQ frame stream. */
  BAD_FRAME: 'BAD_FRAME',
  /** Nothing was read for two heartbeat intervals. */
  READ_TIMEOUT: 'READ_TIMEOUT',
  /** A request was not answered in time. */
  TIMEOUT: 'TIMEOUT',
  /** A lookupd query failed: network error, timeout, bad status or unreadable JSON. */
  LOOKUP_FAILED: 'LOOKUP_FAILED',
  /** A message body could not be decoded with the configured decoder. */
  DECODE_FAILED: 'DECODE_FAILED',
  /** The producer or consumer was closed. */
  CLOSED: 'CLOSED',
  /** A publish argument is invalid (checked before anything is sent). */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT'
} as const

export type ClientErrorCode = typeof CLIENT_ERROR_CODES[keyof typeof CLIENT_ERROR_CODES]

export class NsqClientError extends Error {
  override name = 'NsqClientError'
  readonly code: ClientErrorCode
  /** host:port of the nsqd or lookupd involved, when there is one. */
  readonly address: string

  constructor (code: ClientErrorCode, message: string, address = '', options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.address = address
  }
}

/** Errors after which a publish may be retried on another connection (the broker did not answer). */
export function isConnectionError (err: unknown): boolean {
  if (!(err instanceof NsqClientError)) return false
  return err.code === 'CONNECTION_CLOSED' || err.code === 'CONNECT_FAILED' || err.code === 'HANDSHAKE_FAILED' ||
    err.code === 'BAD_FRAME' || err.code === 'READ_TIMEOUT'
}
