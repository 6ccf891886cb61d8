// Nodes page: every nsqd lookupd knows (or the configured list), and the ones that answered
// within the last hour but are gone now.

import { getJSON, showNodeErrors } from '../api.js'
import { badge, clear, h, link, numCell, section, table } from '../dom.js'
import * as fmt from '../format.js'

/** A replication group (nsqd/replication): its primary, and each standby with its state and lag. */
function groupSection (g) {
  const summary = h('p', null, `Epoch ${fmt.num(g.epoch)} · primary ${g.primary || 'none answering'} · in sync ${g.in_sync_count} of ${g.replication_factor} (min ${g.min_insync_replicas})`)
  const rows = g.members.map((m) => h('tr', { class: 'repl-row', dataset: { node: m.node, role: m.role } },
    h('td', null, m.http_port > 0 ? link(`/nodes/${encodeURIComponent(m.node)}`, m.node) : m.node,
      badge(m.role, m.role === 'primary' ? 'badge-info' : 'badge-muted')),
    h('td', null, m.hostname || h('span', { class: 'muted' }, '–')),
    h('td', null, m.state),
    h('td', null, m.in_sync ? badge('in sync', 'badge-ok') : badge('out of sync', 'badge-warn')),
    m.lag === null ? h('td', { class: 'num muted' }, '–') : numCell(fmt.num(m.lag), m.lag)))
  return section(`Replication group ${g.group}`, summary,
    table(['Node', 'Hostname', 'State', 'In sync', ['Lag (batches)', 'num']], rows, { id: `repl-${g.group}` }))
}

export function create (main) {
  document.title = 'Nodes · nsqadmin'
  const body = h('div')
  const page = h('div', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', null, 'Nodes')), body)
  main.appendChild(page)
  const lookupds = window.NSQADMIN.NSQLOOKUPD || []

  return {
    async refresh () {
      const data = await getJSON('/api/nodes')
      showNodeErrors(page, data.errors)
      clear(body)
      const nodes = data.nodes || []
      const rows = nodes.map((n) => {
        const addr = n.broadcast_address.includes(':') ? `[${n.broadcast_address}]` : n.broadcast_address
        const node = `${addr}:${n.http_port}`
        const conns = n.remote_addresses || []
        return h('tr', { dataset: { node }, class: n.out_of_date ? 'warn-row' : '' },
          h('td', null, n.hostname),
          h('td', null, link(`/nodes/${encodeURIComponent(node)}`, node), n.draining ? badge('draining', 'badge-warn') : null,
            n.replication ? badge(`${n.replication.role} · ${n.replication.group}`, n.replication.role === 'primary' ? 'badge-info' : 'badge-muted') : null),
          numCell(n.tcp_port),
          numCell(n.http_port),
          h('td', null, n.version, n.out_of_date ? badge('out of date', 'badge-warn') : null),
          h('td', null, [n.topology_region, n.topology_zone].filter(Boolean).join(' / ') || h('span', { class: 'muted' }, '–')),
          lookupds.length > 0
            ? h('td', { class: `num${conns.length !== lookupds.length ? ' warn-text' : ''}`, title: conns.join('\n') }, `${conns.length} / ${lookupds.length}`)
            : null,
          h('td', { class: 'topics-cell' }, n.topics.length === 0
            ? h('span', { class: 'muted' }, 'none')
            : n.topics.map((t) => link(`/topics/${encodeURIComponent(t.topic)}`, badge(t.topic, t.tombstoned ? 'badge-danger' : 'badge-topic'))))
        )
      })
      body.appendChild(section(`nsqd nodes (${nodes.length})`, nodes.length === 0
        ? h('p', { class: 'empty' }, 'No nsqd is registered. Start nsqd with --lookupd-tcp-address pointing at one of the lookupds.')
        : table(['Hostname', 'Broadcast address', ['TCP port', 'num'], ['HTTP port', 'num'], 'Version', 'Region / zone',
            lookupds.length > 0 ? ['Lookupd conns', 'num'] : null, 'Topics'].filter(Boolean), rows, { id: 'nodes-table' })))
      for (const g of data.replication_groups || []) body.appendChild(groupSection(g))
      const missing = data.missing || []
      if (missing.length > 0) {
        body.appendChild(section(`Missing nodes (${missing.length})`,
          h('p', { class: 'muted' }, 'These nodes answered within the last hour but are not part of the cluster now (stopped, crashed, or unregistered).'),
          table(['Node', 'Hostname', 'Last seen'], missing.map((m) => h('tr', { class: 'missing-row', dataset: { node: m.node } },
            h('td', null, m.node, badge('missing', 'badge-danger')), h('td', null, m.hostname), h('td', null, fmt.ago(m.last_seen)))), { id: 'missing-table' })))
      }
      if (lookupds.length > 0) {
        body.appendChild(section('nsqlookupd', h('ul', { class: 'plain' }, lookupds.map((l) => h('li', null, h('code', null, l))))))
      }
    },
    dispose () {}
  }
}
