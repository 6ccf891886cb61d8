// Topic page: actions (pause/unpause, empty, delete), charts, one row per nsqd (with tombstone),
// the topic's channels, and a peek at the topic's own queue (with replay on a dead-letter topic).

import { ApiFailure, errorPanel, getJSON, runAction, showNodeErrors } from '../api.js'
import { TimeChart } from '../charts.js'
import { badge, clear, h, link, numCell, section, table } from '../dom.js'
import * as fmt from '../format.js'
import { peekPanel } from './peek.js'
import { policySummaryCell, topicPolicySection } from './policies.js'

export function e2eCell (e) {
  if (!e || !e.percentiles || e.percentiles.length === 0) return h('td', { class: 'num muted' }, '–')
  return h('td', { class: 'num' }, e.percentiles.map((p) =>
    h('div', { title: `min ${fmt.latency(p.min)}, max ${fmt.latency(p.max)}` }, `p${(p.quantile * 100).toFixed(p.quantile * 100 % 1 === 0 ? 0 : 1)} ${fmt.latency(p.average)}`)))
}

export function create (main, [topic], app) {
  document.title = `${topic} · nsqadmin`
  const enc = encodeURIComponent(topic)
  const head = h('div', { class: 'page-head' })
  const body = h('div')
  const charts = h('div', { class: 'charts' })
  const page = h('div', { class: 'page' },
    h('div', { class: 'crumbs' }, link('/', 'Topics'), ' / ', topic),
    head, charts, body, peekPanel({ topic, channel: null, app }))
  main.appendChild(page)
  const rateChart = new TimeChart(charts, { title: 'Messages published per second', series: [{ key: 'rate', label: 'published/s' }] })
  const depthChart = new TimeChart(charts, { title: 'Depth and in-flight', series: [{ key: 'depth', label: 'topic depth' }, { key: 'channel_depth', label: 'channel depth' }, { key: 'in_flight', label: 'in-flight' }] })
  let paused = false

  const act = (action, title, text, done) => () => runAction({
    title, text, okLabel: title, method: 'POST', path: `/api/topics/${enc}`, body: { action }, done, after: app.refresh
  })
  const del = () => runAction({
    title: 'Delete topic',
    text: `Delete topic "${topic}" and all its channels on every node? Queued messages are lost and its consumers are disconnected.`,
    okLabel: 'Delete topic', method: 'DELETE', path: `/api/topics/${enc}`, done: `Topic ${topic} deleted`,
    after: () => app.navigate('/')
  })
  const tombstone = (node) => () => runAction({
    title: 'Tombstone producer',
    text: `Remove topic "${topic}" from ${node}? lookupd stops listing that node for this topic and the topic is deleted there.`,
    okLabel: 'Tombstone', method: 'DELETE', path: `/api/nodes/${encodeURIComponent(node)}`, body: { topic }, done: `Topic ${topic} tombstoned on ${node}`, after: app.refresh
  })

  function renderHead () {
    clear(head).append(
      h('h1', null, topic, paused ? badge('paused', 'badge-warn') : null),
      h('div', { class: 'actions' },
        paused
          ? h('button', { class: 'btn', id: 'btn-unpause', onclick: act('unpause', 'Unpause topic', `Resume moving messages from topic "${topic}" to its channels?`, `Topic ${topic} unpaused`) }, 'Unpause')
          : h('button', { class: 'btn', id: 'btn-pause', onclick: act('pause', 'Pause topic', `Pause topic "${topic}"? Messages will accumulate in the topic until it is unpaused.`, `Topic ${topic} paused`) }, 'Pause'),
        h('button', { class: 'btn', id: 'btn-empty', onclick: act('empty', 'Empty topic', `Empty topic "${topic}"? All messages queued in the topic (not in its channels) are deleted on every node.`, `Topic ${topic} emptied`) }, 'Empty'),
        h('button', { class: 'btn btn-danger', id: 'btn-delete', onclick: del }, 'Delete'))
    )
  }

  return {
    async refresh () {
      let t
      try {
        ;[t] = await Promise.all([
          getJSON(`/api/topics/${enc}`),
          getJSON(`/api/history/topics/${enc}`).then((hist) => { rateChart.update(hist); depthChart.update(hist) }).catch(() => {})
        ])
      } catch (err) {
        if (err instanceof ApiFailure && (err.status === 404 || err.status === 400)) {
          clear(head).append(h('h1', null, topic))
          charts.style.display = 'none'
          clear(body).appendChild(errorPanel(err, `Topic "${topic}"`))
          return
        }
        throw err
      }
      charts.style.display = ''
      paused = t.paused
      renderHead()
      showNodeErrors(page, t.errors)
      clear(body)
      if (!t.nodes || t.nodes.length === 0) {
        body.appendChild(section(null, h('p', { class: 'empty' }, 'No nsqd produces this topic right now. It is only registered in nsqlookupd; see ', link('/lookup', 'Lookup'), '.')))
        return
      }
      const nodeRows = t.nodes.map((n) => h('tr', { dataset: { node: n.node } },
        h('td', null, link(`/nodes/${encodeURIComponent(n.node)}`, n.node), n.hostname !== n.node ? h('span', { class: 'muted small' }, ` ${n.hostname}`) : null, n.paused ? badge('paused', 'badge-warn') : null),
        numCell(fmt.num(n.depth), n.depth),
        numCell(`${fmt.num(n.memory_depth)} + ${fmt.num(n.backend_depth)}`),
        numCell(fmt.num(n.message_count), fmt.full(n.message_count)),
        numCell(fmt.rate(n.rate)),
        numCell(fmt.num((n.channels || []).length)),
        e2eCell(n.e2e_processing_latency),
        h('td', { class: 'row-actions' }, h('button', { class: 'btn btn-small btn-ghost', title: 'tombstone this producer', onclick: tombstone(n.node) }, 'Tombstone'))
      ))
      nodeRows.push(h('tr', { class: 'total' }, h('td', null, 'Total'), numCell(fmt.num(t.depth), t.depth),
        numCell(`${fmt.num(t.memory_depth)} + ${fmt.num(t.backend_depth)}`), numCell(fmt.num(t.message_count), fmt.full(t.message_count)),
        numCell(fmt.rate(t.rate)), numCell(fmt.num((t.channels || []).length)), e2eCell(t.e2e_processing_latency), h('td')))
      body.appendChild(section('Topic message queue',
        table(['nsqd node', ['Depth', 'num'], ['Memory + Disk', 'num'], ['Messages', 'num'], ['Rate', 'num'], ['Channels', 'num'], ['E2E latency', 'num'], ''], nodeRows, { id: 'topic-nodes' })))
      const policies = topicPolicySection(t)
      if (policies !== null) body.appendChild(policies)
      const chans = t.channels || []
      // a Policies column only when a channel has a delivery policy or queue cap (nsqd beyond NSQ)
      const withPolicies = chans.some((c) => c.policy)
      body.appendChild(section('Channels', chans.length === 0
        ? h('p', { class: 'empty' }, 'This topic has no channels yet; messages wait in the topic until a channel is created or a consumer subscribes.')
        : table(['Channel', ['Depth', 'num'], ['Memory + Disk', 'num'], ['In-flight', 'num'], ['Deferred', 'num'], ['Requeued', 'num'], ['Timed out', 'num'], ['Messages', 'num'], ['Rate', 'num'], ['Connections', 'num'], ['E2E latency', 'num'], ...(withPolicies ? ['Policies'] : [])],
          chans.map((c) => h('tr', { dataset: { channel: c.channel_name } },
            h('td', null, link(`/topics/${enc}/${encodeURIComponent(c.channel_name)}`, c.channel_name), c.paused ? badge('paused', 'badge-warn') : null),
            numCell(fmt.num(c.depth), c.depth),
            numCell(`${fmt.num(c.memory_depth)} + ${fmt.num(c.backend_depth)}`),
            numCell(fmt.num(c.in_flight_count), c.in_flight_count),
            numCell(fmt.num(c.deferred_count), c.deferred_count),
            numCell(fmt.num(c.requeue_count), c.requeue_count),
            numCell(fmt.num(c.timeout_count), c.timeout_count),
            numCell(fmt.num(c.message_count), fmt.full(c.message_count)),
            numCell(fmt.rate(c.rate)),
            numCell(fmt.num(c.client_count)),
            e2eCell(c.e2e_processing_latency),
            withPolicies ? policySummaryCell(c.policy) : null)), { id: 'topic-channels' })))
    },
    dispose () {
      rateChart.destroy()
      depthChart.destroy()
    }
  }
}
