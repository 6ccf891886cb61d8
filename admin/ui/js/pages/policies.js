// Delivery policies and bounded queues (nsqd beyond NSQ, issue 16) on the channel and topic pages:
// the effective settings per node (max attempts, dead-letter topic, TTL, queue caps) and their
// counters (dead letters, expired, dropped, refused). Shown only where a node reports a policy.

import { h, link, numCell, section, table } from '../dom.js'
import * as fmt from '../format.js'

function VARIES () {
  return h('span', { class: 'muted', title: 'differs between nodes' }, 'varies')
}

function off () {
  return h('span', { class: 'muted' }, 'off')
}

function attemptsCell (p) {
  if (p.max_attempts < 0) return h('td', null, VARIES())
  return h('td', { class: 'num' }, p.max_attempts > 0 ? fmt.num(p.max_attempts) : off())
}

function deadLetterCell (p) {
  if (p.dead_letter_topic === '*') return h('td', null, VARIES())
  if (p.dead_letter_topic === '') return h('td', null, off())
  return h('td', null, link(`/topics/${encodeURIComponent(p.dead_letter_topic)}`, p.dead_letter_topic))
}

function ttlCell (p) {
  if (p.message_ttl_ms < 0) return h('td', null, VARIES())
  if (p.message_ttl_ms === 0) return h('td', null, off())
  return h('td', { class: 'num', title: `${fmt.full(p.message_ttl_ms)} ms` }, p.message_ttl_ms < 1000 ? `${p.message_ttl_ms}ms` : fmt.duration(p.message_ttl_ms / 1000))
}

/** "10k msgs · 1 MB · drop-oldest", "off" or "varies". */
function capCell (p) {
  if (p.max_queue_messages < 0 || p.max_queue_bytes < 0 || p.queue_full_policy === '*') return h('td', null, VARIES())
  if (p.max_queue_messages === 0 && p.max_queue_bytes === 0) return h('td', null, off())
  const parts = []
  if (p.max_queue_messages > 0) parts.push(`${fmt.num(p.max_queue_messages)} msgs`)
  if (p.max_queue_bytes > 0) parts.push(fmt.bytes(p.max_queue_bytes))
  parts.push(p.queue_full_policy)
  // each part unbroken ("drop-oldest" stays whole); the cell wraps between them
  return h('td', { class: 'cap' }, ...parts.flatMap((part, i) => i === 0 ? [h('span', null, part)] : [' · ', h('span', null, part)]))
}

/** The channel page's "Delivery policies" section, or null when no node reports one. */
export function channelPolicySection (c) {
  if (!c.policy) return null
  const rows = (c.nodes || []).filter((n) => n.policy).map((n) => h('tr', { dataset: { node: n.node } },
    h('td', null, link(`/nodes/${encodeURIComponent(n.node)}`, n.node)),
    attemptsCell(n.policy), deadLetterCell(n.policy), ttlCell(n.policy), capCell(n.policy),
    numCell(fmt.bytes(n.policy.queue_bytes)),
    numCell(fmt.num(n.policy.dead_letter_count), fmt.full(n.policy.dead_letter_count)),
    numCell(fmt.num(n.policy.expired_count), fmt.full(n.policy.expired_count)),
    numCell(fmt.num(n.policy.full_drop_count), fmt.full(n.policy.full_drop_count))))
  const p = c.policy
  rows.push(h('tr', { class: 'total' }, h('td', null, 'Total'), attemptsCell(p), deadLetterCell(p), ttlCell(p), capCell(p),
    numCell(fmt.bytes(p.queue_bytes)),
    numCell(fmt.num(p.dead_letter_count), fmt.full(p.dead_letter_count)),
    numCell(fmt.num(p.expired_count), fmt.full(p.expired_count)),
    numCell(fmt.num(p.full_drop_count), fmt.full(p.full_drop_count))))
  return section('Delivery policies',
    table(['nsqd node', ['Max attempts', 'num'], 'Dead-letter topic', ['Message TTL', 'num'], 'Queue cap', ['Queued bytes', 'num'], ['Dead letters', 'num'], ['Expired', 'num'], ['Dropped (full)', 'num']], rows, { id: 'channel-policies' }))
}

/** The topic page's "Bounded queue" section (the topic's own backlog), or null when none is set. */
export function topicPolicySection (t) {
  if (!t.policy) return null
  const row = (label, p, node) => h('tr', node ? { dataset: { node } } : { class: 'total' }, label, capCell(p),
    numCell(fmt.bytes(p.queue_bytes)),
    numCell(fmt.num(p.full_drop_count), fmt.full(p.full_drop_count)),
    numCell(fmt.num(p.full_refused_count), fmt.full(p.full_refused_count)))
  const rows = (t.nodes || []).filter((n) => n.policy).map((n) => row(h('td', null, link(`/nodes/${encodeURIComponent(n.node)}`, n.node)), n.policy, n.node))
  rows.push(row(h('td', null, 'Total'), t.policy, null))
  return section('Bounded queue',
    table(['nsqd node', 'Topic cap', ['Queued bytes', 'num'], ['Dropped (full)', 'num'], ['Refused (full)', 'num']], rows, { id: 'topic-policies' }))
}

/**
 * A channel's policies in one cell of the topic page's channel list: "max 5 · ttl 1h · cap 3 msgs
 * drop-oldest", then the counters that are not zero; "–" for a channel without any.
 */
export function policySummaryCell (p) {
  if (!p) return h('td', { class: 'muted' }, '–')
  const parts = []
  if (p.max_attempts !== 0) parts.push(p.max_attempts < 0 ? 'max attempts varies' : `max ${fmt.num(p.max_attempts)}`)
  if (p.message_ttl_ms !== 0) parts.push(p.message_ttl_ms < 0 ? 'ttl varies' : `ttl ${p.message_ttl_ms < 1000 ? `${p.message_ttl_ms}ms` : fmt.duration(p.message_ttl_ms / 1000)}`)
  if (p.max_queue_messages !== 0 || p.max_queue_bytes !== 0) {
    const cap = []
    if (p.max_queue_messages !== 0) cap.push(p.max_queue_messages < 0 ? 'varies' : `${fmt.num(p.max_queue_messages)} msgs`)
    if (p.max_queue_bytes !== 0) cap.push(p.max_queue_bytes < 0 ? 'varies' : fmt.bytes(p.max_queue_bytes))
    parts.push(`cap ${cap.join(' / ')} ${p.queue_full_policy === '*' ? '(policy varies)' : p.queue_full_policy}`)
  }
  if (p.dead_letter_count > 0) parts.push(`${fmt.num(p.dead_letter_count)} dead`)
  if (p.expired_count > 0) parts.push(`${fmt.num(p.expired_count)} expired`)
  if (p.full_drop_count > 0) parts.push(`${fmt.num(p.full_drop_count)} dropped`)
  const title = p.dead_letter_topic && p.dead_letter_topic !== '*' ? `dead-letter topic ${p.dead_letter_topic}` : undefined
  return h('td', { class: 'small policy-summary', title }, parts.length > 0 ? parts.join(' · ') : 'dead-letter topic set')
}
