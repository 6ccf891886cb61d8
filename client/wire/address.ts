// host:port helpers shared by the daemons and the client (Go's net.SplitHostPort/JoinHostPort).

/** "host:port" with IPv6 hosts bracketed. */
export function joinHostPort (host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`
}

/**
 * A listen address: "host:port", "[v6]:port" or ":port" (all interfaces); port 0 picks a free one.
 * Throws naming the flag.
 */
export function splitListenAddress (addr: string, flag: string): { host: string, port: number } {
  const i = addr.lastIndexOf(':')
  if (i < 0) throw new Error(`${flag} must be <addr>:<port> (got "${addr}")`)
  let host = addr.slice(0, i)
  const portText = addr.slice(i + 1)
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) throw new Error(`${flag} has an invalid port (got "${addr}")`)
  return { host: host === '' ? '0.0.0.0' : host, port: Number(portText) }
}
