// Charts over the admin's own history: uPlot (served from node_modules by the admin) for the
// page charts, a hand-drawn SVG polyline for table sparklines.

import { h } from './dom.js'
import * as fmt from './format.js'

const MIN_SPAN_S = Math.max(5, 24 * (window.NSQADMIN.HISTORY_INTERVAL_MS || 5000) / 1000)

export const COLORS = ['#1f6feb', '#d97706', '#16a34a', '#9333ea', '#dc2626', '#0891b2']

/**
 * A time-series chart. `series`: [{ key, label, color?, format? }] picked from a history
 * snapshot ({ timestamps, series }) by key.
 */
export class TimeChart {
  constructor (container, { title, series, height = 180, format = fmt.num, axisSize = 60 }) {
    this.series = series
    this.axisSize = axisSize
    this.format = format
    this.box = h('div', { class: 'chart' },
      h('div', { class: 'chart-title' }, title),
      this.plotEl = h('div', { class: 'chart-plot' }),
      this.emptyEl = h('div', { class: 'chart-empty' }, 'Collecting samples…')
    )
    container.appendChild(this.box)
    this.height = height
    this.plot = null
    this.data = [[], ...series.map(() => [])]
    this.resizeObs = new ResizeObserver(() => this.resize())
    this.resizeObs.observe(this.box)
  }

  width () {
    return Math.max(200, this.box.clientWidth - 16)
  }

  make () {
    const format = this.format
    const opts = {
      width: this.width(),
      height: this.height,
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      // at least ~24 samples wide, so the first samples neither fill the chart nor get odd ticks
      scales: { x: { time: true, range: (u, min, max) => [Math.min(min, max - MIN_SPAN_S), max] }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [
        { stroke: '#6b7280', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#e5e7eb' } },
        { stroke: '#6b7280', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#e5e7eb' }, size: this.axisSize, values: (u, vals) => vals.map((v) => format(v)) }
      ],
      // the legend shows the newest values unless the pointer is over the chart
      hooks: { setCursor: [(u) => { if (u.cursor.idx === null || u.cursor.idx === undefined) this.showLatest() }] },
      series: [
        { value: (u, v) => v === null ? '–' : new Date(v * 1000).toLocaleTimeString() },
        ...this.series.map((s, i) => ({
          label: s.label,
          stroke: s.color || COLORS[i % COLORS.length],
          fill: (s.color || COLORS[i % COLORS.length]) + '14',
          width: 1.75,
          points: { show: false },
          spanGaps: false,
          value: (u, v) => format(v)
        }))
      ]
    }
    this.plot = new window.uPlot(opts, this.data, this.plotEl)
  }

  update (snapshot) {
    const xs = snapshot.timestamps.map((t) => t / 1000)
    this.data = [xs, ...this.series.map((s) => snapshot.series[s.key] || xs.map(() => null))]
    this.emptyEl.style.display = xs.length < 2 ? '' : 'none'
    if (this.plot === null) this.make()
    else this.plot.setData(this.data)
    this.showLatest()
  }

  showLatest () {
    const n = this.data[0].length
    if (this.plot === null || n === 0) return
    if (this.plot.cursor.idx !== null && this.plot.cursor.idx !== undefined && this.plot.cursor.left >= 0) return
    this.plot.setLegend({ idx: n - 1 })
  }

  resize () {
    if (this.plot !== null) this.plot.setSize({ width: this.width(), height: this.height })
  }

  destroy () {
    this.resizeObs.disconnect()
    if (this.plot !== null) this.plot.destroy()
    this.box.remove()
  }
}

/** A small inline SVG line of the last values (nulls break the line). */
export function sparkline (values, { width = 110, height = 26, color = COLORS[0] } = {}) {
  const ns = 'http://www.w3.org/2000/svg'
  const svg = document.createElementNS(ns, 'svg')
  svg.setAttribute('width', width)
  svg.setAttribute('height', height)
  svg.setAttribute('class', 'sparkline')
  const vals = values || []
  const max = Math.max(0, ...vals.filter((v) => v !== null))
  if (vals.length < 2) return svg
  const step = width / (vals.length - 1)
  let d = ''
  let pen = false
  vals.forEach((v, i) => {
    if (v === null) { pen = false; return }
    const x = (i * step).toFixed(1)
    const y = (height - 2 - (max > 0 ? (v / max) * (height - 4) : 0)).toFixed(1)
    d += `${pen ? 'L' : 'M'}${x},${y}`
    pen = true
  })
  const path = document.createElementNS(ns, 'path')
  path.setAttribute('d', d)
  path.setAttribute('fill', 'none')
  path.setAttribute('stroke', color)
  path.setAttribute('stroke-width', '1.5')
  svg.appendChild(path)
  return svg
}
