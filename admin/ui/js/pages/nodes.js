// Nodes page: every nsqd lookupd knows (or the configured list), and the ones that answered
// within the last hour but are gone now.

import { getJSON, showNodeErrors } from '../api.js'
import { badge, clear, h, link, numCell, section, table } from '../dom.js'
import * as fmt from '../format.js'

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
          h('td', null, link(`/nodes/${encodeURIComponent(node)}`, node), n.draining ? badge('draining', 'badge-warn') : null),
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
