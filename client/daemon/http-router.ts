// The routing rules of the daemons' HTTP APIs (nsqd and nsqlookupd), as Go's httprouter 1.3 applies
// them behind nsqd 1.3.0 (spec nsqd-http.md §4.1). Fastify does the dispatch; this module decides,
// before Fastify routes, what Go would do with the request line:
//
// - the path is the percent-decoded request path (every %XX, %2F included); a bad escape is Go's
//   "400 Bad Request" before any routing;
// - routes are kept per method; an exact match runs the route;
// - otherwise, if the request's method has routes (and is not CONNECT, and the path is not "/"):
//   the path with its trailing slash removed or added, then the cleaned path (dot segments and
//   repeated slashes removed) matched ASCII-case-insensitively, also with the trailing slash
//   fixed (a :param keeps the request's text), are looked up among that method's routes only and
//   redirected to (301 for GET, 307 for every other method), keeping the raw query;
// - otherwise OPTIONS answers 200 with Allow, and any other method gets 405 with Allow when another
//   method has the exact path; everything else is 404.
//
// Fastify is given a URL it will route exactly as Go would (rewriteUrl), or an unroutable one, in
// which case its not-found handler asks `answerFor` what to send.

import type { FastifyReply, FastifyRequest } from 'fastify'

/** One route: a method and a path pattern whose segments may be `:name` parameters. */
export interface RouteDef {
  readonly method: string
  readonly url: string
}

export type RouterAnswer =
  | { readonly kind: 'redirect', readonly status: 301 | 307, readonly location: string }
  | { readonly kind: 'options', readonly allow: string }
  | { readonly kind: 'method-not-allowed', readonly allow: string }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'bad-request' }

interface Pattern {
  readonly url: string
  /** Segments after the leading '/'; null for a parameter. */
  readonly parts: ReadonlyArray<string | null>
  readonly lower: ReadonlyArray<string | null>
}

interface MethodRoutes {
  /** Routes without parameters, by path. */
  readonly statics: Set<string>
  readonly patterns: Pattern[]
}

const NOT_FOUND: RouterAnswer = { kind: 'not-found' }
const BAD_REQUEST: RouterAnswer = { kind: 'bad-request' }
/** What Fastify is asked to route when Go would not run a route: it matches nothing. */
const UNROUTED_URL = '/\u0000unrouted'
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?]*/

/** Go's url unescape of a path: every %XX decoded to one byte (a latin1 char); null on a bad escape. */
export function goUnescapePath (raw: string): string | null {
  let i = raw.indexOf('%')
  if (i < 0) return raw
  let out = raw.slice(0, i)
  while (i < raw.length) {
    const c = raw.charCodeAt(i)
    if (c !== 0x25) {
      out += raw[i]
      i++
      continue
    }
    const h = hexVal(raw.charCodeAt(i + 1))
    const l = hexVal(raw.charCodeAt(i + 2))
    if (h < 0 || l < 0) return null
    out += String.fromCharCode(h * 16 + l)
    i += 3
  }
  return out
}

function hexVal (c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  return -1
}

const HEX = '0123456789ABCDEF'

/** Go's url path escaping (EscapedPath) of a byte string: all but [A-Za-z0-9-_.~$&+,/:;=@] as %XX. */
export function goEscapePath (path: string): string {
  let out = ''
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i) & 0xff
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || '-_.~$&+,/:;=@'.includes(String.fromCharCode(c))) {
      out += String.fromCharCode(c)
    } else {
      out += '%' + HEX[c >> 4]! + HEX[c & 15]!
    }
  }
  return out
}

/** Lexical cleaning of a rooted path (Go's path.Clean): no empty, "." or ".." segments. */
function cleanSegments (path: string): string {
  const out: string[] = []
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue
    if (seg === '..') out.pop()
    else out.push(seg)
  }
  return '/' + out.join('/')
}

/** httprouter's CleanPath: rooted, cleaned, and a trailing slash (or a final "/.") kept as "/". */
export function routerCleanPath (path: string): string {
  const p = path.startsWith('/') ? path : '/' + path
  const cleaned = cleanSegments(p)
  const trailing = (p.length > 1 && p.endsWith('/')) || p.endsWith('/.')
  return trailing && cleaned !== '/' ? cleaned + '/' : cleaned
}

/** The URL http.Redirect writes for a path-absolute target: path cleaned, trailing slash kept. */
function redirectTarget (escapedPath: string, query: string): string {
  let path = cleanSegments(escapedPath)
  if (escapedPath.endsWith('/') && !path.endsWith('/')) path += '/'
  return path + query
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' }

/** The body Go's http.Redirect writes for a GET: `<a href="URL">Moved Permanently</a>.` and two "\n". */
export function redirectBody (location: string, status: 301 | 307): string {
  const text = status === 301 ? 'Moved Permanently' : 'Temporary Redirect'
  return `<a href="${location.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!)}">${text}</a>.\n\n`
}

export class GoRouter {
  private readonly byMethod = new Map<string, MethodRoutes>()
  private readonly pending = new WeakMap<object, RouterAnswer>()
  /** Every method that has a route, sorted. */
  private readonly methods: string[]

  constructor (routes: readonly RouteDef[]) {
    for (const r of routes) {
      let m = this.byMethod.get(r.method)
      if (m === undefined) {
        m = { statics: new Set(), patterns: [] }
        this.byMethod.set(r.method, m)
      }
      if (r.url.includes('/:')) {
        const parts = r.url.slice(1).split('/').map((s) => (s.startsWith(':') ? null : s))
        m.patterns.push({ url: r.url, parts, lower: parts.map((s) => (s === null ? null : s.toLowerCase())) })
      } else {
        m.statics.add(r.url)
      }
    }
    this.methods = [...this.byMethod.keys()].sort()
  }

  /**
   * Fastify's `rewriteUrl`: the request URL when Go would run a route (re-encoded so Fastify's
   * router matches what Go's does), else an unroutable URL, with the answer kept for `answerFor`.
   */
  readonly rewriteUrl = (req: { method?: string, url?: string }): string => {
    const d = this.decide(req.method ?? 'GET', req.url ?? '/')
    if (typeof d === 'string') return d
    this.pending.set(req, d)
    return UNROUTED_URL
  }

  /** What to answer for a request that Fastify did not route (`raw` is the IncomingMessage). */
  answerFor (raw: object): RouterAnswer {
    return this.pending.get(raw) ?? NOT_FOUND
  }

  /** The URL to route (a string), or the answer when Go would run no route. */
  decide (method: string, url: string): string | RouterAnswer {
    const q = url.indexOf('?')
    let rawPath = q < 0 ? url : url.slice(0, q)
    const query = q < 0 ? '' : url.slice(q)
    let origin = ''
    if (!rawPath.startsWith('/')) {
      const abs = ABSOLUTE_FORM.exec(rawPath)
      if (abs !== null) {
        origin = abs[0]
        rawPath = rawPath.slice(origin.length)
      } else if (rawPath !== '*') {
        return BAD_REQUEST
      } else if (method === 'OPTIONS') {
        // Go's server answers "OPTIONS *" itself: 200, no Allow
        return { kind: 'options', allow: '' }
      }
    }
    const routes = this.byMethod.get(method)
    // the common case: a plain static path
    if (routes !== undefined && origin === '' && routes.statics.has(rawPath)) return url
    const path = goUnescapePath(rawPath)
    if (path === null) return BAD_REQUEST

    if (routes !== undefined) {
      if (routes.statics.has(path)) return path + query
      const hit = this.matchPattern(routes, path, false, false)
      if (hit !== null) return fastifyPath(hit) + query
      if (method !== 'CONNECT' && path !== '/') {
        const fixed = this.trailingSlashFix(routes, path) ?? this.caseInsensitiveFix(routes, routerCleanPath(path))
        if (fixed !== null) {
          const escaped = goEscapePath(fixed)
          return {
            kind: 'redirect',
            status: method === 'GET' ? 301 : 307,
            location: origin !== '' ? origin + escaped + query : redirectTarget(escaped, query)
          }
        }
      }
    }
    const allow = this.allowed(path, method)
    if (allow === '') return NOT_FOUND
    return method === 'OPTIONS' ? { kind: 'options', allow } : { kind: 'method-not-allowed', allow }
  }

  /** The Allow header for a path: the methods that have it exactly, plus OPTIONS, sorted. */
  allowed (path: string, method: string): string {
    const list: string[] = []
    for (const m of this.methods) {
      if (m === 'OPTIONS') continue
      if (path === '*') {
        list.push(m)
        continue
      }
      if (m === method) continue
      const routes = this.byMethod.get(m)!
      if (routes.statics.has(path) || this.matchPattern(routes, path, false, false) !== null) list.push(m)
    }
    if (list.length === 0) return ''
    list.push('OPTIONS')
    return list.sort().join(', ')
  }

  /**
   * The path with its trailing slash removed or added, when that is a route. As in httprouter, a
   * parameter followed by a lone trailing slash counts even when empty ("/config//" → "/config/").
   */
  private trailingSlashFix (routes: MethodRoutes, path: string): string | null {
    if (path.length > 1 && path.endsWith('/')) {
      const p = path.slice(0, -1)
      if (routes.statics.has(p) || this.matchPattern(routes, p, false, true) !== null) return p
      return null
    }
    const p = path + '/'
    if (routes.statics.has(p) || this.matchPattern(routes, p, false, false) !== null) return p
    return null
  }

  /** A route matching the cleaned path ASCII-case-insensitively, also with its trailing slash fixed. */
  private caseInsensitiveFix (routes: MethodRoutes, path: string): string | null {
    const candidates = [path]
    if (path.length > 1 && path.endsWith('/')) candidates.push(path.slice(0, -1))
    else candidates.push(path + '/')
    for (const c of candidates) {
      const lower = c.toLowerCase()
      for (const s of routes.statics) if (s.toLowerCase() === lower) return s
      const hit = this.matchPattern(routes, c, true, false)
      if (hit !== null) return hit
    }
    return null
  }

  /**
   * The path a parameter route gives for `path` (static parts from the route, parameters from the
   * request), or null. A parameter is one non-empty segment (the last one may be empty when
   * `emptyLast`).
   */
  private matchPattern (routes: MethodRoutes, path: string, ci: boolean, emptyLast: boolean): string | null {
    if (routes.patterns.length === 0) return null
    const segs = path.slice(1).split('/')
    outer:
    for (const p of routes.patterns) {
      if (p.parts.length !== segs.length) continue
      let out = ''
      for (let i = 0; i < segs.length; i++) {
        const want = p.parts[i]
        const seg = segs[i]!
        if (want === null || want === undefined) {
          if (seg === '' && !(emptyLast && i === segs.length - 1)) continue outer
          out += '/' + seg
        } else if (ci ? seg.toLowerCase() === p.lower[i] : seg === want) {
          out += '/' + want
        } else {
          continue outer
        }
      }
      return out
    }
    return null
  }
}

/** Re-encodes a decoded (latin1 byte) path so Fastify's router decodes it back to the same segments. */
export function fastifyPath (path: string): string {
  if (!/[^A-Za-z0-9\-._~/]/.test(path)) return path
  return path.split('/').map((seg) => encodeURIComponent(Buffer.from(seg, 'latin1').toString('utf8'))).join('/')
}

/** How a daemon writes its own 404 and 405 (both JSON error documents in NSQ). */
export interface UnroutedErrors {
  notFound (reply: FastifyReply): unknown
  methodNotAllowed (reply: FastifyReply): unknown
}

/**
 * The answer to a request Fastify did not route, for its not-found handler: a redirect as Go's
 * http.Redirect writes it (GET: text/html and a short body; HEAD: the type only; other methods:
 * neither), OPTIONS with Allow, 405 with Allow, Go's bare 400 for an undecodable path, or 404.
 */
export function answerUnrouted (router: GoRouter, req: FastifyRequest, reply: FastifyReply, errors: UnroutedErrors): unknown {
  const a = router.answerFor(req.raw)
  switch (a.kind) {
    case 'redirect':
      reply.code(a.status).header('Location', a.location)
      if (req.method === 'HEAD') return reply.header('Content-Type', 'text/html; charset=utf-8').send()
      if (req.method !== 'GET') return reply.send()
      return reply.header('Content-Type', 'text/html; charset=utf-8').send(redirectBody(a.location, a.status))
    case 'options':
      if (a.allow !== '') reply.header('Allow', a.allow)
      return reply.code(200).send()
    case 'method-not-allowed':
      reply.header('Allow', a.allow)
      return errors.methodNotAllowed(reply)
    case 'bad-request':
      return reply.code(400).header('Content-Type', 'text/plain; charset=utf-8').header('Connection', 'close').send('400 Bad Request')
    default:
      return errors.notFound(reply)
  }
}

/** Fastify options every daemon HTTP app uses with a GoRouter (a parameter is as long as the path). */
export function goRouterFastifyOptions (router: GoRouter): { rewriteUrl: (req: { method?: string, url?: string }) => string, routerOptions: { maxParamLength: number } } {
  return { rewriteUrl: router.rewriteUrl, routerOptions: { maxParamLength: 1 << 20 } }
}
