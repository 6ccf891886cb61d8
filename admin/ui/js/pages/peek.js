// "Peek messages" on the channel and topic pages (beyond NSQ): the next messages of the queue on
// every nsqd, read without consuming them, with the body shown as text, pretty-printed JSON or a
// hex dump. On a dead-letter topic (`<origin>.dead`) the rows can be selected and replayed to the
// origin topic (an admin action, confirmed; the count moved is shown).

import { getJSON, runAction } from '../api.js'
import { clear, h, link, section, table } from '../dom.js'

const VIEWS = [['text', 'Text'], ['json', 'JSON'], ['hex', 'Hex']]
const STATES = [['queued', 'Queued'], ['deferred', 'Deferred'], ['in_flight', 'In flight']]

function bytesOf (b64) {
  const bin = atob(b64 || '')
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}

function asText (bytes) {
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes)
}

function hexDump (bytes) {
  const lines = []
  for (let off = 0; off < bytes.length; off += 16) {
    const row = bytes.subarray(off, off + 16)
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ')
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('')
    lines.push(`${off.toString(16).padStart(6, '0')}  ${hex.padEnd(47)}  ${ascii}`)
  }
  return lines.join('\n')
}

/** The body as the chosen view; JSON falls back to text (marked) when it does not parse. */
export function renderBody (m, view) {
  const bytes = bytesOf(m.body)
  let text
  let note = null
  if (view === 'hex') text = hexDump(bytes)
  else if (view === 'json') {
    text = asText(bytes)
    try { text = JSON.stringify(JSON.parse(text), null, 2) } catch { note = 'not JSON' }
  } else text = asText(bytes)
  return h('div', { class: 'peek-body' },
    h('pre', { class: `peek-${view}` }, text),
    m.body_truncated ? h('div', { class: 'muted small' }, `first ${bytes.length} of ${m.body_size} bytes`) : null,
    note ? h('div', { class: 'muted small' }, note) : null)
}

function when (ns) {
  return new Date(ns / 1e6).toLocaleString()
}

/**
 * The peek card: `channel` null for the topic's own queue. Returns the element; it stays on the
 * page across refreshes (only the button loads messages).
 */
export function peekPanel ({ topic, channel, app }) {
  const te = encodeURIComponent(topic)
  const origin = channel === null && topic.endsWith('.dead') && topic.length > 5 ? topic.slice(0, -5) : null
  let view = 'text'
  let state = 'queued'
  let last = null
  const selected = new Set()
  const out = h('div', { id: 'peek-results' })
  const viewSel = h('select', { id: 'peek-view', title: 'how to show bodies', onchange: () => { view = viewSel.value; render() } },
    VIEWS.map(([v, label]) => h('option', { value: v }, label)))
  const stateSel = channel === null
    ? null
    : h('select', { id: 'peek-state', onchange: () => { state = stateSel.value; void load() } }, STATES.map(([v, label]) => h('option', { value: v }, label)))
  const nInput = h('input', { id: 'peek-n', type: 'number', min: '1', max: '1000', value: '20', class: 'peek-n', title: 'how many per node' })
  const replayBtn = origin === null
    ? null
    : h('button', { class: 'btn btn-danger', id: 'btn-replay', onclick: () => replay() }, `Replay to ${origin}`)

  function path () {
    const n = Math.max(1, Math.min(1000, Number(nInput.value) || 20))
    const base = channel === null ? `/api/peek/${te}` : `/api/peek/${te}/${encodeURIComponent(channel)}`
    return `${base}?n=${n}${stateSel === null ? '' : `&state=${state}`}`
  }

  async function load () {
    try {
      last = await getJSON(path())
      selected.clear()
      render()
    } catch (err) {
      clear(out).appendChild(h('p', { class: 'flash flash-error' }, `Peek failed: ${err.message}`))
    }
  }

  function updateReplayLabel () {
    if (replayBtn === null) return
    replayBtn.textContent = selected.size > 0 ? `Replay ${selected.size} selected to ${origin}` : `Replay all to ${origin}`
  }

  function render () {
    clear(out)
    if (last === null) return
    const msgs = last.messages || []
    const total = (last.nodes || []).reduce((n, x) => n + (x.depth || 0), 0)
    out.appendChild(h('p', { class: 'muted small', id: 'peek-summary' },
      `${msgs.length} message${msgs.length === 1 ? '' : 's'} shown of ${total} queued${state !== 'queued' ? ` (${state.replace('_', '-')} view)` : ''}. Nothing was consumed.`))
    if (msgs.length === 0) {
      out.appendChild(h('p', { class: 'empty' }, 'No message here right now.'))
      updateReplayLabel()
      return
    }
    const headers = [...(origin !== null ? [''] : []), 'nsqd node', 'Message ID', ['Attempts', 'num'], 'Published',
      ...(state === 'deferred' ? ['Deferred until'] : state === 'in_flight' ? ['Times out'] : []), 'Body']
    out.appendChild(table(headers, msgs.map((m) => h('tr', { dataset: { id: m.id } },
      origin !== null
        ? h('td', null, h('input', {
          type: 'checkbox',
          class: 'peek-select',
          title: 'select for replay',
          checked: selected.has(m.id),
          onchange: (e) => { if (e.target.checked) selected.add(m.id); else selected.delete(m.id); updateReplayLabel() }
        }))
        : null,
      h('td', null, link(`/nodes/${encodeURIComponent(m.node)}`, m.node)),
      h('td', { class: 'mono' }, m.id),
      h('td', { class: 'num' }, String(m.attempts)),
      h('td', { class: 'small' }, when(m.timestamp)),
      state === 'deferred' ? h('td', { class: 'small' }, new Date(m.deferred_until).toLocaleString()) : null,
      state === 'in_flight' ? h('td', { class: 'small' }, new Date(m.timeout_at).toLocaleString()) : null,
      h('td', null, renderBody(m, view))
    )), { id: 'peek-table' }))
    updateReplayLabel()
  }

  async function replay () {
    const ids = [...selected]
    const what = ids.length > 0 ? `the ${ids.length} selected message${ids.length === 1 ? '' : 's'}` : `every message of "${topic}"`
    await runAction({
      title: `Replay to ${origin}`,
      text: `Move ${what} back to topic "${origin}" (a JSON-envelope dead letter goes to the topic it names)? Each message is moved once and removed from "${topic}".`,
      okLabel: 'Replay',
      method: 'POST',
      path: `/api/replay/${te}`,
      body: ids.length > 0 ? { ids } : {},
      done: (res) => `Replayed ${res.moved} message${res.moved === 1 ? '' : 's'} to ${origin}`,
      after: async () => { await load(); await app.refresh() }
    })
  }

  const controls = h('div', { class: 'peek-controls' },
    h('button', { class: 'btn btn-primary', id: 'btn-peek', onclick: () => { void load() } }, 'Peek messages'),
    stateSel, h('label', { class: 'small muted' }, ' per node ', nInput), h('label', { class: 'small muted' }, ' body as ', viewSel),
    replayBtn)
  if (replayBtn !== null) updateReplayLabel()
  const hint = channel === null
    ? 'The messages waiting in the topic itself (a dead-letter topic usually has no channels, so they wait here).'
    : 'The next messages this channel would deliver, in order, from memory and disk.'
  return section('Messages', h('p', { class: 'muted small' }, hint), controls, out)
}
