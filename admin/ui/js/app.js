// The single-page app: a small router over history.pushState, one page object at a time
// ({ refresh(), dispose() }), and the live-update stream that makes the open page refresh
// whenever the admin has taken a new sample of the cluster.

import { base, clear, h } from './dom.js'
import { clearFlash, errorPanel } from './api.js'
import * as topics from './pages/topics.js'
import * as topic from './pages/topic.js'
import * as channel from './pages/channel.js'
import * as nodes from './pages/nodes.js'
import * as node from './pages/node.js'
import * as counter from './pages/counter.js'
import * as lookup from './pages/lookup.js'

const ROUTES = [
  [/^\/(topics)?$/, topics, 'topics'],
  [/^\/topics\/([^/]+)$/, topic, 'topics'],
  [/^\/topics\/([^/]+)\/([^/]+)$/, channel, 'topics'],
  [/^\/nodes$/, nodes, 'nodes'],
  [/^\/nodes\/([^/]+)$/, node, 'nodes'],
  [/^\/counter$/, counter, 'counter'],
  [/^\/lookup$/, lookup, 'lookup']
]

let current = null
let refreshing = null
let pending = false

async function refresh () {
  if (current === null) return
  if (refreshing !== null) { pending = true; return refreshing }
  const page = current
  refreshing = (async () => {
    try {
      await page.refresh()
    } catch (err) {
      if (page === current) {
        const main = document.getElementById('main')
        clear(main).appendChild(errorPanel(err, 'Cannot load this page'))
      }
    }
  })()
  await refreshing
  refreshing = null
  if (pending) { pending = false; return refresh() }
}

function route () {
  let path = decodeURI(location.pathname)
  const b = base()
  if (b !== '' && path.startsWith(b)) path = path.slice(b.length)
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1)
  if (path === '') path = '/'
  if (current !== null) current.dispose()
  current = null
  clearFlash()
  const main = clear(document.getElementById('main'))
  for (const a of document.querySelectorAll('#nav a')) a.classList.remove('active')
  for (const [re, mod, nav] of ROUTES) {
    const m = re.exec(path)
    if (m === null) continue
    const params = m.slice(1).filter((x) => x !== undefined).map((x) => {
      try { return decodeURIComponent(x) } catch { return x }
    })
    document.querySelector(`#nav a[data-nav="${nav}"]`)?.classList.add('active')
    current = mod.create(main, params, { refresh, navigate })
    void refresh()
    return
  }
  document.title = 'Not found · nsqadmin'
  main.appendChild(h('div', { class: 'flash flash-error page-error' }, `There is no page at ${path}.`))
}

export function navigate (path) {
  history.pushState(null, '', base() + path)
  route()
}

document.addEventListener('click', (ev) => {
  const a = ev.target.closest('a[data-link]')
  if (a === null || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey) return
  ev.preventDefault()
  history.pushState(null, '', a.getAttribute('href'))
  route()
})
window.addEventListener('popstate', route)

// ---- login (--users-file) -----------------------------------------------------------------

function showSession () {
  const boot = window.NSQADMIN
  if (!boot.LOGIN_ENABLED) return
  const out = h('button', { class: 'btn', id: 'logout', onclick: async () => {
    await fetch(`${base()}/api/logout`, { method: 'POST', headers: { 'X-CSRF-Token': boot.CSRF_TOKEN } })
    location.assign(`${base()}/login`)
  } }, 'Sign out')
  const who = h('span', { class: 'session-user', id: 'session-user' }, `${boot.USER} (${boot.ROLE})`, out)
  document.getElementById('version').after(who)
}

// ---- live updates ------------------------------------------------------------------------

function connectLive () {
  const el = document.getElementById('live')
  const intervalMs = window.NSQADMIN.HISTORY_INTERVAL_MS
  if (!intervalMs) {
    el.textContent = 'polling'
    el.className = 'live'
    setInterval(() => { void refresh() }, 5000)
    return
  }
  const es = new EventSource(`${base()}/api/events`)
  es.addEventListener('hello', () => {
    el.textContent = `live · every ${intervalMs < 1000 ? `${intervalMs}ms` : `${Math.round(intervalMs / 1000)}s`}`
    el.className = 'live live-on'
  })
  es.addEventListener('sample', () => {
    el.className = 'live live-on live-pulse'
    setTimeout(() => { el.className = 'live live-on' }, 400)
    void refresh()
  })
  es.onerror = () => {
    el.textContent = 'offline'
    el.className = 'live live-off'
  }
}

document.getElementById('version').textContent = `v${window.NSQADMIN.VERSION}`
showSession()
connectLive()
route()
