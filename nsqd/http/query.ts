// Request parameters come only from the query string, parsed as Go's url.ParseQuery does
// (nsqd-http.md §2, client/daemon/query.ts); a malformed query is 400 INVALID_REQUEST.

import { GoQuery } from '../../client/daemon/query.js'
import { HttpApiError } from './errors.js'

export { queryBool, queryUnescape as unescapeQuery } from '../../client/daemon/query.js'

export class Query {
  private readonly q: GoQuery

  /** Parses the part of `url` after '?'; throws INVALID_REQUEST where Go's parser fails. */
  constructor (url: string) {
    const q = GoQuery.fromUrl(url)
    if (q === null) throw new HttpApiError(400, 'INVALID_REQUEST')
    this.q = q
  }

  /** The first value, or undefined when the key is absent (an empty value is a value). */
  get (key: string): string | undefined {
    return this.q.get(key)
  }

  /** Every value of a repeated key (`id=..&id=..`), in order. */
  getAll (key: string): readonly string[] {
    return this.q.getAll(key)
  }

    has (key: string): boolean {
    return this.q.has(key)
  }
}
