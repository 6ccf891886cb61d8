// Tiny DOM helpers: h() builds elements from tag, attributes and children. Text always goes in
// through text nodes, never innerHTML, so names from the cluster cannot inject markup.

export function h (tag, attrs, ...children) {
  const el = document.createElement(tag)
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue
      if (k === 'class') el.className = v
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v)
      else if (k === 'dataset') Object.assign(el.dataset, v)
      else el.setAttribute(k, v === true ? '' : String(v))
    }
  }
  append(el, children)
  return el
}

function append (el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue
    if (Array.isArray(c)) append(el, c)
    else if (c instanceof Node) el.appendChild(c)
    else el.appendChild(document.createTextNode(String(c)))
  }
}

export function clear (el) {
  while (el.firstChild) el.removeChild(el.firstChild)
  return el
}

export function base () {
  const b = window.NSQADMIN.BASE_PATH
  return b === '/' ? '' : b
}

/** A link inside the app (handled by the router, no page load). */
export function link (path, ...children) {
  return h('a', { href: base() + path, 'data-link': true }, ...children)
}

export function badge (text, kind = '') {
  return h('span', { class: `badge ${kind}` }, text)
}

/** Numeric table cell: formatted text, exact value on hover. */
export function numCell (text, exact) {
  return h('td', { class: 'num', title: exact === undefined ? undefined : String(exact) }, text)
}

export function table (headers, rows, opts = {}) {
  return h('table', { class: `grid ${opts.class || ''}`, id: opts.id },
    h('thead', null, h('tr', null, headers.map((x) => {
      const [label, cls] = Array.isArray(x) ? x : [x, '']
      return h('th', { class: cls }, label)
    }))),
    h('tbody', null, rows)
  )
}

export function section (title, ...children) {
  return h('section', { class: 'card' }, title ? h('h2', null, title) : null, ...children)
}
