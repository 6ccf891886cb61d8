// Talking to the admin's own /api, and showing what came back: errors and per-node warnings in
// the flash area, admin actions behind a confirmation dialog.

import { base, clear, h } from './dom.js'

export class ApiFailure extends Error {
  constructor (status, message, errors) {
    super(message)
    this.status = status
    this.errors = errors || []
  }
}

async function call (method, path, body) {
  let res
  try {
    res = await fetch(base() + path, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...(method !== 'GET' && window.NSQADMIN.CSRF_TOKEN ? { 'X-CSRF-Token': window.NSQADMIN.CSRF_TOKEN } : {})
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store'
    })
  } catch (err) {
    throw new ApiFailure(0, `nsqadmin itself cannot be reached (${err.message})`)
  }
  let data = null
  const text = await res.text()
  try { data = text === '' ? {} : JSON.parse(text) } catch { data = { message: text.slice(0, 200) } }
  if (res.status === 401 && window.NSQADMIN.LOGIN_ENABLED) location.assign(`${base()}/login`)
  if (!res.ok) throw new ApiFailure(res.status, explain(res.status, data.message || res.statusText), data.errors)
  return data
}

export const getJSON = (path) => call('GET', path)
export const postJSON = (path, body) => call('POST', path, body)
export const deleteJSON = (path, body) => call('DELETE', path, body)

/** Turns API tokens into sentences an operator can act on. */
export function explain (status, message) {
  const m = String(message || '')
  const known = {
    FORBIDDEN: 'Permission denied: only admin users may do this. Ask an operator listed in --admin-user, or sign in through the proxy that sets the admin header.',
    TOPIC_NOT_FOUND: 'This topic does not exist in the cluster.',
    CHANNEL_NOT_FOUND: 'This channel does not exist on any node.',
    NODE_NOT_FOUND: 'No nsqd with this address is part of the cluster (it may have been stopped).',
    INVALID_TOPIC: 'That is not a valid topic name (1-64 characters of a-z, A-Z, 0-9, ".", "_", "-", optionally ending in "#ephemeral").',
    INVALID_CHANNEL: 'That is not a valid channel name (1-64 characters of a-z, A-Z, 0-9, ".", "_", "-", optionally ending in "#ephemeral").',
    INVALID_ACTION: 'Unknown action.',
    NOT_FOUND: 'Not found.'
  }
  if (known[m]) return known[m]
  if (m.startsWith('TOPIC_NOT_FOUND: ')) return 'No nsqd has this topic right now, so there is nothing to act on.'
  if (m.startsWith('UPSTREAM_ERROR: ')) return `No node could answer: ${m.slice(16)}`
  return m || `HTTP ${status}`
}

// ---- flash messages ----------------------------------------------------------------------

const flashEl = () => document.getElementById('flash')

export function flash (kind, text, details = []) {
  const box = h('div', { class: `flash flash-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('button', { class: 'flash-close', title: 'dismiss', onclick: () => box.remove() }, '×'),
    h('div', { class: 'flash-text' }, text),
    details.length > 0 ? h('ul', null, details.map((d) => h('li', null, d))) : null
  )
  flashEl().appendChild(box)
  if (kind === 'success') setTimeout(() => box.remove(), 4000)
  return box
}

export function clearFlash () {
  clear(flashEl())
}

/** Per-node failures of a partial answer, shown above the page (replaced on every refresh). */
export function showNodeErrors (container, errors) {
  const old = container.querySelector(':scope > .node-errors')
  if (old) old.remove()
  if (!errors || errors.length === 0) return
  const box = h('div', { class: 'flash flash-warning node-errors', role: 'status' },
    h('div', { class: 'flash-text' }, `Partial answer: ${errors.length === 1 ? 'one host' : `${errors.length} hosts`} did not answer. The numbers below leave them out.`),
    h('ul', null, errors.map((e) => h('li', null, h('strong', null, `${e.kind} ${e.address}`), ': ', e.error)))
  )
  container.prepend(box)
}

export function errorPanel (err, what) {
  return h('div', { class: 'flash flash-error page-error', role: 'alert' },
    h('div', { class: 'flash-text' }, h('strong', null, what ? `${what}: ` : ''), err.message),
    err.errors && err.errors.length > 0
      ? h('ul', null, err.errors.map((e) => h('li', null, h('strong', null, `${e.kind} ${e.address}`), ': ', e.error)))
      : null
  )
}

// ---- admin actions -----------------------------------------------------------------------

function confirmDialog (title, text, okLabel) {
  const dlg = document.getElementById('confirm')
  document.getElementById('confirm-title').textContent = title
  document.getElementById('confirm-text').textContent = text
  document.getElementById('confirm-ok').textContent = okLabel
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true })
    dlg.returnValue = ''
    dlg.showModal()
  })
}

/**
 * Runs an admin action: refuses at once for non-admins (the server enforces it too), asks for
 * confirmation, calls the API, reports the outcome (`done`: text, or a function of the answer),
 * then runs `after` (usually a refresh).
 */
export async function runAction ({ title, text, okLabel, method, path, body, done, after }) {
  if (!window.NSQADMIN.IS_ADMIN) {
    const why = window.NSQADMIN.LOGIN_ENABLED
      ? `Permission denied: ${window.NSQADMIN.USER} is a viewer; only admin users may do this.`
      : explain(403, 'FORBIDDEN')
    flash('error', `${title}: ${why}`)
    return false
  }
  if (!await confirmDialog(title, text, okLabel || title)) return false
  try {
    const res = await call(method, path, body)
    const doneText = typeof done === 'function' ? done(res) : done
    if (res.message) flash('warning', `${doneText} with warnings.`, (res.errors || []).map((e) => `${e.kind} ${e.address}: ${e.error}`))
    else flash('success', `${doneText}.`)
    if (after) await after()
    return true
  } catch (err) {
    flash('error', `${title} failed: ${err.message}`, (err.errors || []).map((e) => `${e.kind} ${e.address}: ${e.error}`))
    return false
  }
}
