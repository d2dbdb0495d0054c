// The console's groups and their personal invites.

import { $, el } from '../lib/dom.js';
import { fromUnix } from '../lib/format.js';
import { api, invalid, nextId, report, srOnly, state, timeElement } from './common.js';
import { loadSessions, renderCreated } from './sessions.js';

// ------------------------------------------------------------------ groups and invites

export async function loadGroups() {
  const { groups } = await api('GET', '/api/groups');
  state.groups = groups;
  await Promise.all(groups.map((g) => loadInvites(g.id)));
  renderGroups();
  renderGroupChoice();
}

async function loadInvites(groupId) {
  const { invites } = await api('GET', `/api/groups/${encodeURIComponent(groupId)}/invites`);
  state.invites.set(groupId, invites);
}

function renderGroupChoice() {
  const select = $('session-group');
  const chosen = select.value;
  select.replaceChildren(el('option', { value: '', text: 'No group' }));
  for (const group of state.groups) {
    select.append(el('option', { value: group.id, text: group.name }));
  }
  select.value = state.groups.some((g) => g.id === chosen) ? chosen : '';
}

function renderGroups() {
  const holder = $('groups');
  if (state.groups.length === 0) {
    holder.replaceChildren(el('p', { class: 'empty', text: 'No groups yet.' }));
    return;
  }
  holder.replaceChildren(...state.groups.map(groupCard));
}

function groupCard(group) {
  const titleId = nextId('group-title');
  const inputId = nextId('invite-label');
  const invites = state.invites.get(group.id) || [];
  const problem = el('p', { class: 'form-error', role: 'alert' });

  const list =
    invites.length === 0
      ? el('p', { class: 'empty', text: 'No personal invites yet.' })
      : el('ul', { class: 'invites' }, ...invites.map((inv) => inviteItem(group, inv, problem)));

  const input = el('input', { id: inputId, type: 'text', maxlength: '80', required: true });
  const form = el(
    'form',
    { class: 'inline-form', novalidate: true },
    el(
      'div',
      { class: 'field' },
      el('label', { for: inputId, text: 'Label for a new personal invite (e.g. initials)' }),
      input,
    ),
    el('button', { class: 'btn', type: 'submit' }, 'Add invite', srOnly(` to ${group.name}`)),
    problem,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.textContent = '';
    input.removeAttribute('aria-invalid');
    const label = input.value.trim();
    if (!label) {
      invalid(input, problem, 'Enter a label, so you know whose invite it is.');
      return;
    }
    try {
      await api('POST', `/api/groups/${encodeURIComponent(group.id)}/invites`, { label });
      await loadInvites(group.id);
    } catch (error) {
      report(error, problem);
      return;
    }
    $('page-status').textContent = `Personal invite for ${label} added to ${group.name}.`;
    renderGroups();
    focusInviteInput(group.id);
    await invitesChanged(group.id);
  });

  return el(
    'article',
    { class: 'group', 'aria-labelledby': titleId, 'data-group-id': group.id },
    el('h3', { id: titleId, text: group.name }),
    el(
      'p',
      {},
      el(
        'a',
        { href: `/groups/${encodeURIComponent(group.id)}` },
        'Trends across sessions',
        srOnly(` of ${group.name}`),
      ),
    ),
    el('h4', { text: 'Personal invites' }),
    list,
    form,
  );
}

function focusInviteInput(groupId) {
  const card = [...document.querySelectorAll('article.group')].find(
    (a) => a.dataset.groupId === groupId,
  );
  card?.querySelector('input')?.focus();
}

function inviteItem(group, invite, problem) {
  const added = fromUnix(invite.created_at);
  const item = el(
    'li',
    { class: invite.revoked ? 'invite revoked' : 'invite' },
    el('span', { class: 'invite-label', text: invite.label }),
    ' ',
    el('span', { class: 'muted' }, 'added ', timeElement(added)),
  );
  if (invite.revoked) {
    item.append(' ', el('span', { class: 'badge', text: 'Revoked' }));
    return item;
  }
  const revoke = el(
    'button',
    { class: 'btn small danger-outline', type: 'button' },
    'Revoke',
    srOnly(` the invite for ${invite.label}`),
  );
  revoke.addEventListener('click', async () => {
    const sure = confirm(
      `Revoke the personal invite for ${invite.label}? Their links stop working in every ` +
        `session of ${group.name}.`,
    );
    if (!sure) return;
    problem.textContent = '';
    try {
      await api(
        'DELETE',
        `/api/groups/${encodeURIComponent(group.id)}/invites/${encodeURIComponent(invite.id)}`,
      );
      await loadInvites(group.id);
    } catch (error) {
      report(error, problem);
      return;
    }
    $('page-status').textContent = `Invite for ${invite.label} revoked.`;
    renderGroups();
    focusInviteInput(group.id);
    await invitesChanged(group.id);
  });
  item.append(' ', revoke);
  return item;
}

// Personal links are minted per session from the group's invites: show the new set.
async function invitesChanged(groupId) {
  if (state.created && state.created.group_id === groupId) {
    try {
      state.created = await api(
        'GET',
        `/api/sessions/${encodeURIComponent(state.created.session_id)}`,
      );
      renderCreated();
    } catch (error) {
      report(error, $('session-error'));
    }
  }
  try {
    await loadSessions();
  } catch (error) {
    report(error, $('sessions-error'));
  }
}

export function wireGroupForm() {
  $('group-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = $('group-name');
    const problem = $('group-error');
    problem.textContent = '';
    input.removeAttribute('aria-invalid');
    const name = input.value.trim();
    if (!name) {
      invalid(input, problem, 'Enter a name for the group.');
      return;
    }
    let group;
    try {
      group = await api('POST', '/api/groups', { name });
    } catch (error) {
      report(error, problem);
      return;
    }
    state.groups.push(group);
    state.invites.set(group.id, []);
    input.value = '';
    renderGroups();
    renderGroupChoice();
    $('page-status').textContent = `Group ${group.name} created.`;
  });
}
