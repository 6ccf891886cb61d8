// Channel page: actions, charts, one row per nsqd, every connected client with RDY, in-flight,
// finish/requeue counts, connection time, user agent and TLS/compression, and a message peek.

import { ApiFailure, errorPanel, getJSON, runAction, showNodeErrors } from '../api.js'
import { TimeChart } from '../charts.js'
import { badge, clear, h, link, numCell, section, table } from '../dom.js'
import * as fmt from '../format.js'
import { e2eCell } from './topic.js'
import { peekPanel } from './peek.js'
import { channelPolicySection } from './policies.js'

export function clientAttributes (c) {
  const out = []
  if (c.sample_rate > 0) out.push(badge(`sampled ${c.sample_rate}%`))
  if (c.tls) out.push(h('span', { class: 'badge badge-ok', title: [c.tls_version, c.tls_cipher_suite].filter(Boolean).join(' ') }, c.tls_version ? `TLS ${c.tls_version.replace(/^TLS/, '')}` : 'TLS'))
  if (c.deflate) out.push(badge('deflate', 'badge-info'))
  if (c.snappy) out.push(badge('snappy', 'badge-info'))
  if (c.authed) out.push(h('span', { class: 'badge badge-ok', title: c.auth_identity_url || '' }, c.auth_identity ? `authed: ${c.auth_identity}` : 'authed'))
  if (c.topology_region || c.topology_zone) out.push(badge([c.topology_region, c.topology_zone].filter(Boolean).join('/')))
  return out.length > 0 ? h('span', { class: 'attrs' }, out) : h('span', { class: 'muted' }, 'plain')
}

export function clientHost (c) {
  const port = (c.remote_address || '').split(':').pop()
  const name = `${c.hostname}:${port}`
  const short = c.hostname.split('.')[0]
  return h('span', { title: c.remote_address }, name,
    c.client_id && c.client_id !== c.hostname && c.client_id !== short ? h('span', { class: 'muted small' }, ` (${c.client_id})`) : null)
}

export function create (main, [topic, channel], app) {
  document.title = `${topic} / ${channel} · nsqadmin`
  const te = encodeURIComponent(topic)
  const ce = encodeURIComponent(channel)
  const head = h('div', { class: 'page-head' })
  const charts = h('div', { class: 'charts' })
  const body = h('div')
  const page = h('div', { class: 'page' },
    h('div', { class: 'crumbs' }, link('/', 'Topics'), ' / ', link(`/topics/${te}`, topic), ' / ', channel),
    head, charts, body, peekPanel({ topic, channel, app }))
  main.appendChild(page)
  const rateChart = new TimeChart(charts, { title: 'Messages per second', series: [{ key: 'rate', label: 'received/s' }, { key: 'requeue_rate', label: 'requeued/s' }, { key: 'timeout_rate', label: 'timed out/s' }] })
  const depthChart = new TimeChart(charts, { title: 'Depth, in-flight, deferred', series: [{ key: 'depth', label: 'depth' }, { key: 'in_flight', label: 'in-flight' }, { key: 'deferred', label: 'deferred' }] })
  let paused = false

  const path = `/api/topics/${te}/${ce}`
  const act = (action, title, text, done) => () => runAction({ title, text, okLabel: title, method: 'POST', path, body: { action }, done, after: app.refresh })
  const del = () => runAction({
    title: 'Delete channel',
    text: `Delete channel "${channel}" of topic "${topic}" on every node? Its queued and in-flight messages are lost and its consumers are disconnected.`,
    okLabel: 'Delete channel', method: 'DELETE', path, done: `Channel ${channel} deleted`, after: () => app.navigate(`/topics/${te}`)
  })

  function renderHead () {
    clear(head).append(
      h('h1', null, channel, h('span', { class: 'muted title-sub' }, ` on ${topic}`), paused ? badge('paused', 'badge-warn') : null),
      h('div', { class: 'actions' },
        paused
          ? h('button', { class: 'btn', id: 'btn-unpause', onclick: act('unpause', 'Unpause channel', `Resume delivery of channel "${channel}" to its consumers?`, `Channel ${channel} unpaused`) }, 'Unpause')
          : h('button', { class: 'btn', id: 'btn-pause', onclick: act('pause', 'Pause channel', `Pause channel "${channel}"? Consumers stop receiving messages; they accumulate in the channel.`, `Channel ${channel} paused`) }, 'Pause'),
        h('button', { class: 'btn', id: 'btn-empty', onclick: act('empty', 'Empty channel', `Empty channel "${channel}"? Every queued, in-flight and deferred message of this channel is deleted on every node.`, `Channel ${channel} emptied`) }, 'Empty'),
        h('button', { class: 'btn btn-danger', id: 'btn-delete', onclick: del }, 'Delete'))
    )
  }

  return {
    async refresh () {
      let c
      try {
        ;[c] = await Promise.all([
          getJSON(path),
          getJSON(`/api/history/topics/${te}/${ce}`).then((hist) => { rateChart.update(hist); depthChart.update(hist) }).catch(() => {})
        ])
      } catch (err) {
        if (err instanceof ApiFailure && (err.status === 404 || err.status === 400)) {
          clear(head).append(h('h1', null, channel))
          charts.style.display = 'none'
          clear(body).appendChild(errorPanel(err, `Channel "${channel}" of topic "${topic}"`))
          return
        }
        throw err
      }
      charts.style.display = ''
      paused = c.paused
      renderHead()
      showNodeErrors(page, c.errors)
      clear(body)
      const nodes = c.nodes || []
      const row = (n, label) => [
        numCell(fmt.num(n.depth), n.depth),
        numCell(`${fmt.num(n.memory_depth)} + ${fmt.num(n.backend_depth)}`),
        numCell(fmt.num(n.in_flight_count), n.in_flight_count),
        numCell(fmt.num(n.deferred_count), n.deferred_count),
        numCell(fmt.num(n.requeue_count), n.requeue_count),
        numCell(fmt.num(n.timeout_count), n.timeout_count),
        numCell(fmt.num(n.message_count), fmt.full(n.message_count)),
        numCell(fmt.num(n.client_count)),
        e2eCell(n.e2e_processing_latency)
      ]
      const rows = nodes.map((n) => h('tr', { dataset: { node: n.node } },
        h('td', null, link(`/nodes/${encodeURIComponent(n.node)}`, n.node), n.paused ? badge('paused', 'badge-warn') : null), ...row(n)))
      rows.push(h('tr', { class: 'total' }, h('td', null, 'Total', h('span', { class: 'muted small' }, ` · ${fmt.rate(c.rate)}`)), ...row(c)))
      body.appendChild(section('Channel message queue', nodes.length === 0
        ? h('p', { class: 'empty' }, 'No nsqd has this channel right now (it is only registered in nsqlookupd).')
        : table(['nsqd node', ['Depth', 'num'], ['Memory + Disk', 'num'], ['In-flight', 'num'], ['Deferred', 'num'], ['Requeued', 'num'], ['Timed out', 'num'], ['Messages', 'num'], ['Connections', 'num'], ['E2E latency', 'num']], rows, { id: 'channel-nodes' })))
      const policies = channelPolicySection(c)
      if (policies !== null) body.appendChild(policies)
      const clients = c.clients || []
      body.appendChild(section(`Client connections (${clients.length})`, clients.length === 0
        ? h('p', { class: 'empty' }, 'No consumer is connected to this channel.')
        : table(['Client host', 'User agent', 'Attributes', 'nsqd node', ['RDY', 'num'], ['In-flight', 'num'], ['Ready to send', 'num'], ['Finished', 'num'], ['Requeued', 'num'], ['Messages', 'num'], ['Connected', 'num']],
          clients.map((cl) => h('tr', null,
            h('td', null, clientHost(cl)),
            h('td', { class: 'small' }, cl.user_agent || h('span', { class: 'muted' }, 'unknown')),
            h('td', null, clientAttributes(cl)),
            h('td', null, link(`/nodes/${encodeURIComponent(cl.node)}`, cl.node)),
            numCell(fmt.num(cl.ready_count), cl.ready_count),
            numCell(fmt.num(cl.in_flight_count), cl.in_flight_count),
            numCell(fmt.num(Math.max(0, cl.ready_count - cl.in_flight_count)), 'RDY minus in-flight: how many more messages nsqd may send now'),
            numCell(fmt.num(cl.finish_count), fmt.full(cl.finish_count)),
            numCell(fmt.num(cl.requeue_count), fmt.full(cl.requeue_count)),
            numCell(fmt.num(cl.message_count), fmt.full(cl.message_count)),
            numCell(fmt.duration(cl.connected / 1e9), new Date(cl.connect_ts * 1000).toLocaleString())
          )), { id: 'channel-clients' })))
    },
    dispose () {
      rateChart.destroy()
      depthChart.destroy()
    }
  }
}
