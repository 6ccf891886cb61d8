// Counter page: total messages delivered to channels across the cluster, live, with the rate.

import { getJSON, showNodeErrors } from '../api.js'
import { TimeChart } from '../charts.js'
import { h } from '../dom.js'
import * as fmt from '../format.js'

const POLL_MS = 1000

export function create (main) {
  document.title = 'Counter · nsqadmin'
  const big = h('div', { class: 'counter-value', id: 'counter-value' }, '–')
  const sub = h('div', { class: 'counter-sub' }, 'messages processed')
  const rateEl = h('div', { class: 'counter-rate' }, '')
  const charts = h('div', { class: 'charts charts-one' })
  const page = h('div', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', null, 'Counter')),
    h('section', { class: 'card counter' }, big, sub, rateEl), charts)
  main.appendChild(page)
  const chart = new TimeChart(charts, { title: 'Messages delivered to channels per second (cluster)', series: [{ key: 'processed_rate', label: 'delivered/s' }], height: 220 })
  let shown = null
  let anim = null

  function animateTo (target) {
    if (shown === null) { shown = target; big.textContent = fmt.full(target); return }
    const from = shown
    const start = performance.now()
    cancelAnimationFrame(anim)
    const step = (now) => {
      const k = Math.min(1, (now - start) / 800)
      shown = Math.round(from + (target - from) * k)
      big.textContent = fmt.full(shown)
      if (k < 1) anim = requestAnimationFrame(step)
    }
    anim = requestAnimationFrame(step)
  }

  let stopped = false
  let timer = null
  const tick = async () => {
    if (stopped) return
    try { await self.refresh() } catch { /* the next tick retries */ }
    if (!stopped) timer = setTimeout(tick, POLL_MS)
  }
  const self = {
    async refresh () {
      const [data, hist] = await Promise.all([getJSON('/api/counter'), getJSON('/api/history/cluster').catch(() => null)])
      showNodeErrors(page, data.errors)
      animateTo(data.total_messages)
      if (hist !== null) {
        chart.update(hist)
        const r = hist.series.processed_rate || []
        const lastRate = r.length > 0 ? r[r.length - 1] : null
        rateEl.textContent = lastRate === null ? '' : `${fmt.rate(lastRate)} right now`
      }
    },
    dispose () {
      stopped = true
      clearTimeout(timer)
      cancelAnimationFrame(anim)
      chart.destroy()
    }
  }
  timer = setTimeout(tick, POLL_MS)
  return self
}
