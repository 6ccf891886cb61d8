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

/** Go's %q for the ASCII names that reach error strings: quotes, escapes \ and ", hex for the rest. */
export function goQuote (s: string): string {
  let out = '"'
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x22) out += '\\"'
    else if (c === 0x5c) out += '\\\\'
    else if (c === 0x0a) out += '\\n'
    else if (c === 0x0d) out += '\\r'
    else if (c === 0x09) out += '\\t'
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0')
    else out += s[i]
  }
  return out + '"'
}
