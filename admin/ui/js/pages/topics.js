// Topics page: every topic with its depth, in-flight, rate (and a 10-minute sparkline), plus
// cluster-wide charts from the admin's own history.

import { getJSON, showNodeErrors } from '../api.js'
import { TimeChart, sparkline } from '../charts.js'
import { badge, clear, h, link, numCell, section, table } from '../dom.js'
import * as fmt from '../format.js'

const SPARK_WINDOW_MS = 10 * 60 * 1000

function last (arr) {
  if (!arr) return null
  for (let i = arr.length - 1; i >= 0; i--) if (arr[i] !== null) return arr[i]
  return null
}

function stat (label, value, title) {
  return h('div', { class: 'stat', title }, h('div', { class: 'stat-value' }, value), h('div', { class: 'stat-label' }, label))
}

export function create (main) {
  document.title = 'Topics · nsqadmin'
  const stats = h('div', { class: 'stats' })
  const charts = h('div', { class: 'charts' })
  const list = h('div')
  const page = h('div', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', null, 'Topics')),
    stats, charts, list)
  main.appendChild(page)
  const rateChart = new TimeChart(charts, { title: 'Messages published per second (cluster)', series: [{ key: 'rate', label: 'published/s' }, { key: 'processed_rate', label: 'delivered to channels/s' }], format: fmt.num })
  const depthChart = new TimeChart(charts, { title: 'Depth and in-flight (cluster)', series: [{ key: 'depth', label: 'depth' }, { key: 'in_flight', label: 'in-flight' }] })

  return {
    async refresh () {
      const [data, hist, cluster] = await Promise.all([
        getJSON('/api/topics?stats=true'),
        getJSON(`/api/history/topics?since=${Date.now() - SPARK_WINDOW_MS}`).catch(() => ({ series: {} })),
        getJSON('/api/history/cluster').catch(() => ({ timestamps: [], series: {} }))
      ])
      rateChart.update(cluster)
      depthChart.update(cluster)
      showNodeErrors(page, data.errors)
      const topics = data.topics || []
      const nodes = new Set()
      let depth = 0
      let inflight = 0
      for (const t of topics) {
        for (const n of t.nodes) nodes.add(n)
        depth += t.depth + t.channel_depth
        inflight += t.in_flight_count
      }
      clear(stats).append(
        stat('topics', fmt.num(topics.length)),
        stat('nodes', fmt.num(nodes.size)),
        stat('published', fmt.rate(last(cluster.series.rate)), 'messages per second, all topics'),
        stat('depth', fmt.num(depth), 'messages queued in topics and channels'),
        stat('in-flight', fmt.num(inflight))
      )
      clear(list)
      if (topics.length === 0) {
        list.appendChild(section(null, h('p', { class: 'empty' }, 'No topics yet. Publish a message, or create a topic on the ', link('/lookup', 'Lookup'), ' page.')))
        return
      }
      const rows = topics.map((t) => h('tr', { dataset: { topic: t.topic_name } },
        h('td', null, link(`/topics/${encodeURIComponent(t.topic_name)}`, t.topic_name), t.paused ? badge('paused', 'badge-warn') : null,
          t.nodes.length === 0 ? badge('no producers', 'badge-muted') : null),
        numCell(fmt.num(t.depth), t.depth),
        numCell(fmt.num(t.channel_depth), t.channel_depth),
        numCell(fmt.num(t.in_flight_count), t.in_flight_count),
        numCell(fmt.rate(t.rate), t.rate === null ? undefined : t.rate.toFixed(2)),
        h('td', { class: 'spark' }, sparkline(hist.series[`${t.topic_name}|rate`])),
        numCell(fmt.num(t.channels.length)),
        numCell(fmt.num(t.client_count)),
        numCell(fmt.num(t.message_count), fmt.full(t.message_count)),
        numCell(fmt.num(t.nodes.length))
      ))
      list.appendChild(section(null, table([
        'Topic', ['Depth', 'num'], ['Channel depth', 'num'], ['In-flight', 'num'], ['Rate', 'num'], 'Last 10 min',
        ['Channels', 'num'], ['Clients', 'num'], ['Messages', 'num'], ['Nodes', 'num']
      ], rows, { id: 'topics-table' })))
    },
    dispose () {
      rateChart.destroy()
      depthChart.destroy()
    }
  }
}
