// Query strings parsed the way Go's url.ParseQuery does (client/daemon/query.ts); nsqlookupd reads
// parameters only from the query string, and a malformed one is INVALID_REQUEST.

import { GoQuery } from '../../client/daemon/query.js'
import { HttpApiError } from './errors.js'

export class QueryParams {
  private readonly q: GoQuery

  /** Parses the raw query (the part after '?'); throws INVALID_REQUEST when Go would fail. */
  constructor (raw: string) {
    const q = GoQuery.parse(raw)
    if (q === null) throw new HttpApiError('INVALID_REQUEST')
    this.q = q
  }

  static fromUrl (url: string): QueryParams {
    const q = url.indexOf('?')
    return new QueryParams(q < 0 ? '' : url.slice(q + 1))
  }

  /** The first value of `key`, or undefined. */
  get (key: string): string | undefined {
    return this.q.get(key)
  }
}
