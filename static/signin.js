// Facilitator sign-in: the server sets an HttpOnly cookie; this page only shows who is signed in
// and, after signing in, goes on to `?next=` (a path on this site) or to the console.
import { $ } from './lib/dom.js';

const problem = $('signin-error');

// Where to go after signing in: `next` only when it stays on this origin ("/console", never
// "//elsewhere.example" or "/\elsewhere.example", which browsers treat as another host).
function nextPage() {
  const next = new URLSearchParams(location.search).get('next');
  if (!next?.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) {
    return '/console';
  }
  let url;
  try {
    url = new URL(next, location.origin);
  } catch {
    return '/console';
  }
  if (url.origin !== location.origin) return '/console';
  return url.pathname + url.search + url.hash;
}

function showSignedIn(me) {
  const credentials = me.credentials ? `, ${me.credentials}` : '';
  $('who').textContent = `${me.display_name}${credentials}`;
  $('signin').hidden = true;
  $('signed-in').hidden = false;
}

$('signin').addEventListener('submit', async (event) => {
  event.preventDefault();
  problem.textContent = '';
  let response;
  try {
    response = await fetch('/api/auth/signin', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        email: $('email').value,
        password: $('password').value,
      }),
    });
  } catch {
    problem.textContent = 'The server cannot be reached. Check your connection and try again.';
    return;
  }
  let body = {};
  try {
    body = await response.json();
  } catch {
    body = {};
  }
  if (!response.ok) {
    problem.textContent =
      {
        unauthorized: 'The email address or password is not correct. Please try again.',
        rate_limited: 'Too many attempts. Please wait a minute, then try again.',
        invalid: 'Please enter your email address and your password.',
      }[body.error] || 'We could not sign you in. Please try again.';
    return;
  }
  showSignedIn(body);
  location.assign(nextPage());
});

$('signout').addEventListener('click', async () => {
  await fetch('/api/auth/signout', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '{}',
  });
  location.reload();
});

fetch('/api/me').then((r) => (r.ok ? r.json().then(showSignedIn) : null));
