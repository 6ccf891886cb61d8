// Topic and channel names (spec: tcp-protocol.md §15): 1..64 bytes of [.a-zA-Z0-9_-],
// optionally ending in "#ephemeral" (the suffix counts toward the 64).

const EPHEMERAL_SUFFIX = '#ephemeral'
const NAME_RE = /^[.a-zA-Z0-9_-]+(#ephemeral)?$/

export function isValidName (name: string): boolean {
  return name.length >= 1 && name.length <= 64 && NAME_RE.test(name)
}

export const isValidTopicName = isValidName
export const isValidChannelName = isValidName

export function isEphemeral (name: string): boolean {
  return name.endsWith(EPHEMERAL_SUFFIX)
}

/** Go's %q (strconv.Quote) for names in error texts; see go-quote.ts. */
export { goQuote, goQuoteBytes } from './go-quote.js'
