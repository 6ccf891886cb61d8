// Node page: one nsqd's totals, charts, and every topic with its channels and clients.

import { ApiFailure, errorPanel, getJSON, runAction, showNodeErrors } from '../api.js'
import { TimeChart } from '../charts.js'
import { badge, clear, h, link, numCell, section, table } from '../dom.js'
import * as fmt from '../format.js'
import { clientAttributes, clientHost } from './channel.js'

function stat (label, value) {
  return h('div', { class: 'stat' }, h('div', { class: 'stat-value' }, value), h('div', { class: 'stat-label' }, label))
}

/** A replicated nsqd (nsqd/replication): its group, role, epoch, and per standby the lag. */
function replicationSection (r) {
  const summary = h('p', null, `Group ${r.group} · ${r.role} · epoch ${fmt.num(r.epoch)} · in sync ${(r.in_sync || []).length} of ${r.replication_factor}` +
    ` (min ${r.min_insync_replicas})` + (r.role === 'standby' ? ` · primary ${r.primary || 'none'} · ${r.state}` : ''))
  const rows = (r.standbys || []).map((s) => h('tr', null, h('td', null, s.id),
    h('td', null, s.in_sync ? badge('in sync', 'badge-ok') : badge('out of sync', 'badge-warn')),
    h('td', null, s.state), numCell(fmt.num(s.lag), s.lag)))
  return section('Replication', summary, rows.length > 0 ? table(['standby', 'in sync', 'state', 'lag (batches)'], rows) : null)
}

export function create (main, [node], app) {
  document.title = `${node} · nsqadmin`
  const ne = encodeURIComponent(node)
  const head = h('div', { class: 'page-head' }, h('h1', null, node))
  const stats = h('div', { class: 'stats' })
  const charts = h('div', { class: 'charts' })
  const body = h('div')
  const page = h('div', { class: 'page' }, h('div', { class: 'crumbs' }, link('/nodes', 'Nodes'), ' / ', node), head, stats, charts, body)
  main.appendChild(page)
  const rateChart = new TimeChart(charts, { title: 'Messages published per second', series: [{ key: 'rate', label: 'published/s' }] })
  const depthChart = new TimeChart(charts, { title: 'Depth and clients', series: [{ key: 'depth', label: 'depth' }, { key: 'clients', label: 'clients' }] })
  const heapChart = new TimeChart(charts, { title: 'Heap in use', series: [{ key: 'heap_bytes', label: 'heap' }], format: fmt.bytes, axisSize: 72 })

  const tombstone = (topic) => () => runAction({
    title: 'Tombstone producer',
    text: `Remove topic "${topic}" from ${node}? lookupd stops listing this node for the topic and the topic is deleted here.`,
    okLabel: 'Tombstone', method: 'DELETE', path: `/api/nodes/${ne}`, body: { topic }, done: `Topic ${topic} tombstoned on ${node}`, after: app.refresh
  })

  // drain mode (nsqd/drain.ts): the node refuses publishes and new consumers, delivers what it has, then exits
  const drain = () => runAction({
    title: 'Drain node',
    text: `Drain ${node}? It refuses new publishes and new consumers, lookupd stops listing it, its connected consumers receive every message it holds, and then it shuts down (unless started with --drain-exit=false). A drain cannot be undone from here.`,
    okLabel: 'Drain node', method: 'POST', path: `/api/nodes/${ne}`, body: { action: 'drain' }, done: `${node} is draining`, after: app.refresh
  })

  return {
    async refresh () {
      let n
      try {
        ;[n] = await Promise.all([
          getJSON(`/api/nodes/${ne}`),
          getJSON(`/api/history/nodes/${ne}`).then((hist) => { rateChart.update(hist); depthChart.update(hist); heapChart.update(hist) }).catch(() => {})
        ])
      } catch (err) {
        if (err instanceof ApiFailure && (err.status === 404 || err.status === 502)) {
          charts.style.display = 'none'
          clear(stats)
          clear(body).appendChild(errorPanel(err, `Node ${node}`))
          return
        }
        throw err
      }
      charts.style.display = ''
      showNodeErrors(page, n.errors)
      clear(head).append(h('h1', null, n.hostname, h('span', { class: 'muted title-sub' }, ` ${node}`), n.draining ? badge('draining', 'badge-warn') : null),
        h('div', { class: 'muted' }, `nsqd v${n.version} · health ${n.health} · up ${fmt.duration(Date.now() / 1000 - n.start_time)}` +
          (n.draining ? (n.drain_remaining === 0 ? ' · drained: every message delivered' : ` · draining: ${fmt.num(n.drain_remaining)} messages left`) + ((n.drain_stuck_topics || []).length > 0 ? ` (topics without channels: ${n.drain_stuck_topics.join(', ')})` : '') : '')),
        h('div', { class: 'actions' }, n.draining ? null : h('button', { class: 'btn btn-danger', id: 'btn-drain', onclick: drain }, 'Drain')))
      let channels = 0
      for (const t of n.topics) channels += (t.channels || []).length
      clear(stats).append(stat('topics', fmt.num(n.topics.length)), stat('channels', fmt.num(channels)),
        stat('messages', fmt.num(n.total_messages)), stat('clients', fmt.num(n.total_clients)))
      clear(body)
      if (n.replication) body.appendChild(replicationSection(n.replication))
      if (n.topics.length === 0) {
        body.appendChild(section(null, h('p', { class: 'empty' }, 'This node has no topics.')))
        return
      }
      const rows = []
      for (const t of n.topics) {
        const te = encodeURIComponent(t.topic_name)
        rows.push(h('tr', { class: 'topic-row' },
          h('td', null, link(`/topics/${te}`, t.topic_name), t.paused ? badge('paused', 'badge-warn') : null),
          numCell(fmt.num(t.depth), t.depth), numCell(`${fmt.num(t.memory_depth)} + ${fmt.num(t.backend_depth)}`),
          h('td'), h('td'), h('td'), h('td'),
          numCell(fmt.num(t.message_count), fmt.full(t.message_count)), numCell(fmt.num((t.channels || []).length)),
          h('td', { class: 'row-actions' }, h('button', { class: 'btn btn-small btn-ghost', onclick: tombstone(t.topic_name) }, 'Tombstone'))))
        for (const c of t.channels || []) {
          rows.push(h('tr', { class: 'channel-row' },
            h('td', { class: 'indent' }, link(`/topics/${te}/${encodeURIComponent(c.channel_name)}`, c.channel_name), c.paused ? badge('paused', 'badge-warn') : null),
            numCell(fmt.num(c.depth), c.depth), numCell(`${fmt.num(c.memory_depth)} + ${fmt.num(c.backend_depth)}`),
            numCell(fmt.num(c.in_flight_count)), numCell(fmt.num(c.deferred_count)), numCell(fmt.num(c.requeue_count)), numCell(fmt.num(c.timeout_count)),
            numCell(fmt.num(c.message_count), fmt.full(c.message_count)), numCell(fmt.num(c.client_count)), h('td')))
          for (const cl of c.clients || []) {
            rows.push(h('tr', { class: 'client-row' },
              h('td', { class: 'indent2' }, clientHost(cl), ' ', h('span', { class: 'muted small' }, cl.user_agent)),
              h('td', { colspan: 2 }, clientAttributes(cl)),
              numCell(`${fmt.num(cl.in_flight_count)} / ${fmt.num(cl.ready_count)}`, 'in-flight / RDY'), h('td'),
              numCell(fmt.num(cl.requeue_count)), numCell(`${fmt.num(cl.finish_count)} fin`),
              numCell(fmt.num(cl.message_count)), numCell(fmt.duration(cl.connected / 1e9)), h('td')))
          }
        }
      }
      body.appendChild(section('Topics, channels and clients', table(['Topic / channel / client', ['Depth', 'num'], ['Memory + Disk', 'num'], ['In-flight', 'num'], ['Deferred', 'num'], ['Requeued', 'num'], ['Timed out', 'num'], ['Messages', 'num'], ['Channels / clients', 'num'], ''], rows, { id: 'node-topics', class: 'tree' })))
    },
    dispose () {
      rateChart.destroy()
      depthChart.destroy()
      heapChart.destroy()
    }
  }
}
