// Facilitator console: profile, groups and personal invites, new sessions and their links,
// the sessions list and each session's audit log. Plain DOM; every text from the server goes in
// through textContent or a property, never as HTML.
import { ApiError, api, invalid, report, showSignedOut, state } from './console/common.js';
import { loadGroups, wireGroupForm } from './console/groups.js';
import { loadSessions, wireSessionForm } from './console/sessions.js';
import { $ } from './lib/dom.js';

const SIGN_IN_URL = '/signin?next=/console';

// ------------------------------------------------------------------ header and profile

function showMe(me) {
  state.me = me;
  $('me-name').textContent = me.display_name;
  $('me-credentials').textContent = me.credentials ? `, ${me.credentials}` : '';
  $('me-summary').hidden = false;
  $('signout').hidden = false;
}

$('signout').addEventListener('click', async () => {
  try {
    await api('POST', '/api/auth/signout');
  } catch (error) {
    report(error, $('page-status'));
    return;
  }
  location.assign('/signin');
});

$('profile-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = $('profile-name');
  const problem = $('profile-error');
  const status = $('profile-status');
  problem.textContent = '';
  status.textContent = '';
  name.removeAttribute('aria-invalid');
  const displayName = name.value.trim();
  if (!displayName) {
    invalid(name, problem, 'Enter the name participants should see.');
    return;
  }
  try {
    const me = await api('PATCH', '/api/me', {
      display_name: displayName,
      credentials: $('profile-credentials').value.trim(),
    });
    showMe(me);
    fillProfile(me);
    status.textContent = 'Saved';
  } catch (error) {
    report(error, problem);
  }
});

function fillProfile(me) {
  $('profile-name').value = me.display_name;
  $('profile-credentials').value = me.credentials;
}

// ------------------------------------------------------------------ start

export async function start() {
  let me;
  try {
    me = await api('GET', '/api/me');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      showSignedOut();
      $('page-status').textContent = 'You are not signed in. Taking you to the sign-in page…';
      location.replace(SIGN_IN_URL);
      return;
    }
    report(error, $('page-status'));
    return;
  }
  showMe(me);
  fillProfile(me);
  $('console').hidden = false;
  try {
    await loadGroups();
  } catch (error) {
    report(error, $('group-error'));
  }
  try {
    await loadSessions();
  } catch (error) {
    report(error, $('sessions-error'));
  }
  $('page-status').textContent = '';
  document.body.dataset.ready = 'true';
}

wireGroupForm();
wireSessionForm();
start();
