// The NSQ error catalogue (tcp-protocol.md §7, §17). One ProtocolError class: `message` is the exact
// error-frame payload, `code` the first token, `fatal` whether nsqd closes the connection after it.

export const ERROR_CODES = {
  E_INVALID: 'E_INVALID',
  E_BAD_PROTOCOL: 'E_BAD_PROTOCOL',
  E_BAD_BODY: 'E_BAD_BODY',
  E_BAD_TOPIC: 'E_BAD_TOPIC',
  E_BAD_CHANNEL: 'E_BAD_CHANNEL',
  E_BAD_MESSAGE: 'E_BAD_MESSAGE',
  E_PUB_FAILED: 'E_PUB_FAILED',
  E_MPUB_FAILED: 'E_MPUB_FAILED',
  E_DPUB_FAILED: 'E_DPUB_FAILED',
  E_FIN_FAILED: 'E_FIN_FAILED',
  E_REQ_FAILED: 'E_REQ_FAILED',
  E_TOUCH_FAILED: 'E_TOUCH_FAILED',
  E_IDENTIFY_FAILED: 'E_IDENTIFY_FAILED',
  E_SUB_FAILED: 'E_SUB_FAILED',
  E_AUTH_FIRST: 'E_AUTH_FIRST',
  E_AUTH_DISABLED: 'E_AUTH_DISABLED',
  E_AUTH_FAILED: 'E_AUTH_FAILED',
  E_AUTH_ERROR: 'E_AUTH_ERROR',
  E_UNAUTHORIZED: 'E_UNAUTHORIZED'
} as const

export type ErrorCode = typeof ERROR_CODES[keyof typeof ERROR_CODES]

/** The only codes after which nsqd keeps the connection open. */
export const NON_FATAL_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['E_FIN_FAILED', 'E_REQ_FAILED', 'E_TOUCH_FAILED'])

export function isFatalCode (code: string): boolean {
  return !NON_FATAL_CODES.has(code as ErrorCode)
}

export class ProtocolError extends Error {
  override name = 'ProtocolError'
  readonly code: ErrorCode
  readonly fatal: boolean

  /** `description` follows the code after one space; omit it for the bare E_BAD_PROTOCOL. */
  constructor (code: ErrorCode, description?: string, options?: { cause?: unknown }) {
    super(description === undefined ? code : `${code} ${description}`, options)
    this.code = code
    this.fatal = isFatalCode(code)
  }

  /** Parses an error frame payload as a client sees it. */
  static parse (payload: string): ProtocolError {
    const sp = payload.indexOf(' ')
    const code = (sp < 0 ? payload : payload.slice(0, sp)) as ErrorCode
    return new ProtocolError(code, sp < 0 ? undefined : payload.slice(sp + 1))
  }
}
