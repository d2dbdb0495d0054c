// The console's sessions: the new-session form with its links, the list, each audit log.

import { $, el } from '../lib/dom.js';
import { fromUnix, localInputToIso } from '../lib/format.js';
import { api, groupName, invalid, nextId, report, srOnly, state, timeElement } from './common.js';
import { linkList } from './links.js';

const AUDIT_LIMIT = 200;

// ------------------------------------------------------------------ new session

export function wireSessionForm() {
  $('local-zone').textContent = Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';

  $('session-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const title = $('session-title');
    const start = $('session-start');
    const problem = $('session-error');
    problem.textContent = '';
    title.removeAttribute('aria-invalid');
    start.removeAttribute('aria-invalid');
    const body = {
      title: title.value.trim(),
      waiting_room: $('session-waiting').checked,
      safety_check: $('session-safety').checked,
    };
    if (!body.title) {
      invalid(title, problem, 'Enter a title for the session.');
      return;
    }
    if ($('session-group').value) body.group_id = $('session-group').value;
    if (start.value) {
      const iso = localInputToIso(start.value);
      if (!iso) {
        invalid(start, problem, 'Enter the start as a date and a time.');
        return;
      }
      body.scheduled_start = iso;
    } else if (start.validity.badInput) {
      invalid(
        start,
        problem,
        'The start is not complete: enter both a date and a time, or clear it.',
      );
      return;
    }
    try {
      state.created = await api('POST', '/api/sessions', body);
    } catch (error) {
      report(error, problem);
      return;
    }
    title.value = '';
    start.value = '';
    $('session-waiting').checked = true; // each new session starts with the safer default
    renderCreated();
    $('page-status').textContent =
      `Session ${state.created.title} created. Its links are below the form.`;
    $('created').focus();
    try {
      await loadSessions();
    } catch (error) {
      report(error, $('sessions-error'));
    }
  });
}

export function renderCreated() {
  const session = state.created;
  $('created-name').textContent = session.title;
  $('created-links').replaceChildren(linkList(session));
  $('created').hidden = false;
}

// ------------------------------------------------------------------ sessions list

export async function loadSessions() {
  const { sessions } = await api('GET', '/api/sessions');
  state.sessions = sessions;
  $('sessions-error').textContent = '';
  renderSessions();
}

function sessionStatus(session) {
  if (session.ended_at) return { text: 'Ended', kind: 'ended', when: fromUnix(session.ended_at) };
  if (Date.parse(session.expires_at) <= Date.now()) return { text: 'Links expired', kind: 'ended' };
  if (session.scheduled_start) return { text: 'Scheduled', kind: 'scheduled' };
  return { text: 'Open (no set start)', kind: 'open' };
}

function renderSessions() {
  const list = $('sessions');
  if (state.sessions.length === 0) {
    list.replaceChildren(el('li', { class: 'empty', text: 'No sessions yet.' }));
    return;
  }
  list.replaceChildren(...state.sessions.map(sessionItem));
}

function fact(term, ...value) {
  return el('div', {}, el('dt', { text: term }), el('dd', {}, ...value));
}

function sessionItem(session) {
  const titleId = nextId('session-title');
  const linksId = nextId('session-links');
  const auditId = nextId('session-audit');
  const status = sessionStatus(session);

  const start = session.scheduled_start
    ? timeElement(new Date(session.scheduled_start))
    : 'Not scheduled';
  const facts = el(
    'dl',
    { class: 'facts' },
    fact('Group', groupName(session.group_id)),
    fact('Scheduled start', start),
    fact(
      'Status',
      el('span', { class: `status status-${status.kind}`, text: status.text }),
      status.when ? ' ' : null,
      status.when ? timeElement(status.when) : null,
    ),
    fact('Waiting room', session.waiting_room ? 'On' : 'Off'),
    fact('Safety check', session.safety_check === false ? 'Off' : 'On'),
    fact('Links work until', timeElement(new Date(session.expires_at))),
  );

  const linksPanel = el('div', { id: linksId, class: 'panel-inner', hidden: true });
  const auditPanel = el('div', { id: auditId, class: 'panel-inner', hidden: true });
  const linksButton = el(
    'button',
    { class: 'btn small', type: 'button', 'aria-expanded': 'false', 'aria-controls': linksId },
    'Links',
    srOnly(` for ${session.title}`),
  );
  const auditButton = el(
    'button',
    { class: 'btn small', type: 'button', 'aria-expanded': 'false', 'aria-controls': auditId },
    'Audit log',
    srOnly(` of ${session.title}`),
  );

  const showLinks = (open) => {
    linksButton.setAttribute('aria-expanded', String(open));
    linksPanel.hidden = !open;
    if (open) {
      state.openLinks.add(session.session_id);
      linksPanel.replaceChildren(linkList(session));
    } else {
      state.openLinks.delete(session.session_id);
      linksPanel.replaceChildren();
    }
  };
  const showAudit = (open) => {
    auditButton.setAttribute('aria-expanded', String(open));
    auditPanel.hidden = !open;
    if (open) {
      state.openAudit.add(session.session_id);
      loadAudit(session, auditPanel);
    } else {
      state.openAudit.delete(session.session_id);
      auditPanel.replaceChildren();
    }
  };
  linksButton.addEventListener('click', () => showLinks(linksPanel.hidden));
  auditButton.addEventListener('click', () => showAudit(auditPanel.hidden));
  if (state.openLinks.has(session.session_id)) showLinks(true);
  if (state.openAudit.has(session.session_id)) showAudit(true);

  return el(
    'li',
    { class: 'session', 'aria-labelledby': titleId, 'data-session-id': session.session_id },
    el('h3', { id: titleId, text: session.title }),
    facts,
    el(
      'div',
      { class: 'actions' },
      linksButton,
      auditButton,
      el(
        'a',
        { class: 'btn small', href: `/sessions/${encodeURIComponent(session.session_id)}/summary` },
        'Summary',
        srOnly(` of ${session.title}`),
      ),
    ),
    linksPanel,
    auditPanel,
  );
}

async function loadAudit(session, panel) {
  const problem = el('p', { class: 'form-error', role: 'alert' });
  const status = el('p', { class: 'muted', role: 'status', text: 'Loading the audit log…' });
  panel.replaceChildren(status, problem);
  let entries;
  try {
    const path = `/api/sessions/${encodeURIComponent(session.session_id)}/audit?limit=${AUDIT_LIMIT}`;
    ({ entries } = await api('GET', path));
  } catch (error) {
    status.textContent = '';
    report(error, problem);
    return;
  }
  const refresh = el(
    'button',
    { class: 'btn small', type: 'button' },
    'Refresh',
    srOnly(' the audit log'),
  );
  refresh.addEventListener('click', () => loadAudit(session, panel));
  if (entries.length === 0) {
    status.textContent = 'No actions yet.';
    panel.replaceChildren(status, refresh, problem);
    return;
  }
  status.textContent =
    entries.length >= AUDIT_LIMIT
      ? `The latest ${entries.length} actions, newest first.`
      : `${entries.length} action${entries.length === 1 ? '' : 's'}, newest first.`;
  panel.replaceChildren(status, auditTable(session, entries), refresh, problem);
}

function auditTable(session, entries) {
  const head = el(
    'tr',
    {},
    ...['Time', 'Actor', 'Action', 'Target', 'Outcome', 'Detail'].map((h) =>
      el('th', { scope: 'col', text: h }),
    ),
  );
  const rows = [...entries]
    .reverse()
    .map((e) =>
      el(
        'tr',
        {},
        el('td', {}, timeElement(fromUnix(e.at))),
        el('td', {}, ...who(e.actor_name, e.actor_role, e.actor_id)),
        el('td', { text: e.action }),
        el('td', {}, ...(e.target_id ? who(e.target_name, e.target_role, e.target_id) : ['—'])),
        el('td', {}, el('span', { class: `outcome outcome-${e.outcome}`, text: e.outcome })),
        el('td', { class: 'mono', text: detailText(e.detail) }),
      ),
    );
  return el(
    'div',
    { class: 'table-wrap' },
    el(
      'table',
      { class: 'audit' },
      el('caption', { text: `Audit log of ${session.title}` }),
      el('thead', {}, head),
      el('tbody', {}, ...rows),
    ),
  );
}

// A person as the leaders saw them: "Sam (participant)", their id beside it for the record;
// the id alone when the session's record has no name for it.
function who(name, role, id) {
  const said = role ? ` (${role})` : '';
  if (!name) return [el('span', { class: 'mono', text: id }), said];
  return [`${name}${said} `, el('span', { class: 'mono muted', text: id })];
}

function detailText(detail) {
  const parts = Object.entries(detail || {}).map(([k, v]) => `${k}: ${v}`);
  return parts.length ? parts.join(', ') : '—';
}
