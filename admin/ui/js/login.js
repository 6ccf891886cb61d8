// The login page: posts the form as JSON to /api/login; on success the session cookie is set and
// the UI is loaded, otherwise the reason is shown (wrong credentials, or too many attempts).

const base = document.body.dataset.base || ''
const form = document.getElementById('login-form')
const error = document.getElementById('login-error')

form.addEventListener('submit', async (ev) => {
  ev.preventDefault()
  error.hidden = true
  const user = document.getElementById('login-user').value
  const password = document.getElementById('login-password').value
  let res
  try {
    res = await fetch(`${base}/api/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user, password }),
      cache: 'no-store'
    })
  } catch (err) {
    show(`nsqadmin cannot be reached (${err.message})`)
    return
  }
  if (res.ok) {
    location.assign(`${base}/`)
    return
  }
  if (res.status === 429) show(`Too many failed attempts. Try again in ${res.headers.get('Retry-After') || 'a few'} seconds.`)
  else if (res.status === 401) show('Wrong user name or password.')
  else show(`Sign-in failed (HTTP ${res.status}).`)
})

function show (text) {
  error.textContent = text
  error.hidden = false
}
