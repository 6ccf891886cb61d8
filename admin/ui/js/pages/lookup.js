// Lookup page: the configured nsqlookupd hosts, topics/channels registered there that no nsqd
// produces (with delete), and the form to create a topic or channel.

import { flash, getJSON, runAction, showNodeErrors } from '../api.js'
import { clear, h, link, section } from '../dom.js'

const NAME_RE = /^[.a-zA-Z0-9_-]+(#ephemeral)?$/
const validName = (s) => s.length >= 1 && s.length <= 64 && NAME_RE.test(s)

export function create (main, params, app) {
  document.title = 'Lookup · nsqadmin'
  const lookupds = window.NSQADMIN.NSQLOOKUPD || []
  const inactive = h('div')
  const topicIn = h('input', { id: 'create-topic', name: 'topic', placeholder: 'topic name', autocomplete: 'off', required: true })
  const channelIn = h('input', { id: 'create-channel', name: 'channel', placeholder: 'channel name (optional)', autocomplete: 'off' })
  const form = h('form', { class: 'create-form', id: 'create-form' },
    h('label', null, 'Topic', topicIn), h('label', null, 'Channel', channelIn),
    h('button', { class: 'btn btn-primary', type: 'submit' }, 'Create'))
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault()
    const topic = topicIn.value.trim()
    const channel = channelIn.value.trim()
    if (!validName(topic)) { flash('error', `"${topic}" is not a valid topic name: use 1-64 characters of a-z, A-Z, 0-9, ".", "_" or "-".`); return }
    if (channel !== '' && !validName(channel)) { flash('error', `"${channel}" is not a valid channel name: use 1-64 characters of a-z, A-Z, 0-9, ".", "_" or "-".`); return }
    const what = channel === '' ? `topic "${topic}"` : `channel "${channel}" of topic "${topic}"`
    const ok = await runAction({
      title: channel === '' ? 'Create topic' : 'Create channel',
      text: `Create ${what} in every nsqlookupd${channel === '' ? '' : ' and on every nsqd producing the topic'}?`,
      okLabel: 'Create', method: 'POST', path: '/api/topics', body: { topic, channel }, done: `Created ${what}`, after: app.refresh
    })
    if (ok) { topicIn.value = ''; channelIn.value = '' }
  })

  const page = h('div', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', null, 'Lookup')),
    section('nsqlookupd hosts', lookupds.length === 0
      ? h('p', { class: 'empty' }, 'nsqadmin is not configured with nsqlookupd hosts (it uses --nsqd-http-address).')
      : h('ul', { class: 'plain' }, lookupds.map((l) => h('li', null, h('code', null, l))))),
    section('Create a topic or channel', form),
    inactive)
  main.appendChild(page)

  const delTopic = (t) => () => runAction({ title: 'Delete topic', text: `Delete topic "${t}" from every nsqlookupd?`, okLabel: 'Delete', method: 'DELETE', path: `/api/topics/${encodeURIComponent(t)}`, done: `Topic ${t} deleted`, after: app.refresh })
  const delChannel = (t, c) => () => runAction({ title: 'Delete channel', text: `Delete channel "${c}" of topic "${t}" from every nsqlookupd?`, okLabel: 'Delete', method: 'DELETE', path: `/api/topics/${encodeURIComponent(t)}/${encodeURIComponent(c)}`, done: `Channel ${c} deleted`, after: app.refresh })

  return {
    async refresh () {
      if (lookupds.length === 0) return
      const data = await getJSON('/api/topics?inactive=true')
      showNodeErrors(page, data.errors)
      const names = Object.keys(data.topics || {})
      clear(inactive).appendChild(section('Inactive topics',
        h('p', { class: 'muted' }, 'Registered in nsqlookupd, produced by no nsqd.'),
        names.length === 0
          ? h('p', { class: 'empty' }, 'None.')
          : h('ul', { class: 'tree-list', id: 'inactive-list' }, names.map((t) => h('li', null,
            link(`/topics/${encodeURIComponent(t)}`, t), ' ',
            h('button', { class: 'btn btn-small btn-ghost', title: 'delete', onclick: delTopic(t) }, 'Delete'),
            data.topics[t].length > 0 ? h('ul', null, data.topics[t].map((c) => h('li', null, c, ' ',
              h('button', { class: 'btn btn-small btn-ghost', onclick: delChannel(t, c) }, 'Delete')))) : null)))))
    },
    dispose () {}
  }
}
