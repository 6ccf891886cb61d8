// The IDENTIFY body decoded the way nsqd 1.3.0 decodes it: Go's encoding/json unmarshalling into a
// struct of typed fields (tcp-protocol.md §8.1 step 6, §9.1). The decoding rules (key folding,
// null, wrong types, integer ranges, strings) are the shared ones of client/wire/go-unmarshal.ts;
// this file only names nsqd's fields and their Go types (the integers int64, sample_rate int32).

import { GoStruct, MAX_NESTING_DEPTH, type GoField, type GoStructOf, type Int64 } from '../../client/wire/go-unmarshal.js'

export { MAX_NESTING_DEPTH, type Int64 }

const IDENTIFY_STRUCT = new GoStruct({
  client_id: 'string',
  hostname: 'string',
  user_agent: 'string',
  feature_negotiation: 'bool',
  tls_v1: 'bool',
  snappy: 'bool',
  deflate: 'bool',
  heartbeat_interval: 'int64',
  output_buffer_size: 'int64',
  output_buffer_timeout: 'int64',
  deflate_level: 'int64',
  msg_timeout: 'int64',
  sample_rate: 'int32',
  // only on NSQ's master branch (a listed deviation); strings there
  topology_region: 'string',
  topology_zone: 'string'
})

export type IdentifyFields = GoStructOf<typeof IDENTIFY_STRUCT extends GoStruct<infer K> ? K : never>

export function identifyDefaults (): IdentifyFields {
  return IDENTIFY_STRUCT.defaults()
}

/** The typed IDENTIFY fields, or null when Go's json.Unmarshal would fail on this body. */
export function decodeIdentifyJson (body: Buffer): IdentifyFields | null {
  return IDENTIFY_STRUCT.decode(body)
}

/** The field a key names under Go's case folding, if any. */
export function fieldForKey (key: string): GoField | undefined {
  return IDENTIFY_STRUCT.fieldForKey(key)
}
