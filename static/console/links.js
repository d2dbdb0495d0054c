// A session's links (facilitator, co-facilitator, invite, personal), each with a copy button.

import { el } from '../lib/dom.js';
import { api, nextId, report, srOnly } from './common.js';

const COPIED_SHOWN_MS = 5000;

// ------------------------------------------------------------------ links

export function linkList(session) {
  const rows = [
    {
      label: 'Facilitator link (yours; keep it private)',
      url: session.facilitator_url,
      help: "Opens the session as you, with your name and credentials, only while you are signed in: a copy in anyone else's hands opens nothing.",
      open: true,
    },
    {
      label: 'Co-facilitator link',
      url: session.cofacilitator_url,
      help: 'For a colleague who leads with you.',
    },
    {
      label: 'Invite link for participants',
      url: session.invite_url,
      help: session.waiting_room
        ? 'Anyone with it can ask to join; the waiting room lets you admit each person.'
        : 'Anyone with it can join straight away (no waiting room).',
    },
    ...session.personal_invites.map((p) => ({
      label: `Personal invite link: ${p.label}`,
      url: p.url,
      personal: p.invite_id,
    })),
  ];
  const box = el('div', { class: 'links' }, ...rows.map(linkRow));
  box.append(replaceButton(session, box));
  if (session.group_id && session.personal_invites.length === 0) {
    box.append(
      el('p', {
        class: 'help',
        text: 'No personal invite links: this group has no personal invites yet (add them under Groups).',
      }),
    );
  } else if (!session.group_id) {
    box.append(
      el('p', { class: 'help', text: 'Personal invite links come with sessions of a group.' }),
    );
  }
  return box;
}

// Someone who should not have the invite link has it: revoke it (and the co-facilitator
// link) and show new ones. People already in the session stay.
function replaceButton(session, box) {
  const problem = el('p', { class: 'help', 'aria-live': 'polite' });
  const button = el('button', {
    class: 'btn small danger',
    type: 'button',
    text: 'Reissue the shared invites (the old ones stop working)',
  });
  button.addEventListener('click', async () => {
    if (
      !window.confirm(
        'The invite and co-facilitator links sent so far will stop working. Continue?',
      )
    )
      return;
    try {
      const id = encodeURIComponent(session.session_id);
      const updated = await api('POST', `/api/sessions/${id}/invite_link`, {});
      box.replaceWith(linkList(updated));
    } catch (error) {
      report(error, problem);
    }
  });
  return el('div', { class: 'link-replace' }, button, problem);
}

function linkRow(row) {
  const inputId = nextId('link');
  const helpId = row.help ? nextId('link-help') : null;
  const input = el('input', {
    id: inputId,
    type: 'text',
    readOnly: true,
    value: row.url,
    spellcheck: false,
    'aria-describedby': helpId,
  });
  input.addEventListener('focus', () => input.select());
  const feedback = el('span', { class: 'copy-feedback', 'aria-live': 'polite' });
  const copy = el(
    'button',
    { class: 'btn small', type: 'button' },
    'Copy',
    srOnly(` ${row.label}`),
  );
  copy.addEventListener('click', () => copyLink(input, feedback, row.label));
  const line = el('div', { class: 'link-line' }, input, copy);
  line.dataset.kind = row.open ? 'facilitator' : row.personal ? 'personal' : 'shared';
  if (row.open) {
    line.append(
      el('a', {
        class: 'btn small link-btn',
        href: row.url,
        target: '_blank',
        rel: 'noopener noreferrer',
        text: 'Open as facilitator',
      }),
    );
  }
  line.append(feedback);
  return el(
    'div',
    { class: 'link-row', 'data-invite-id': row.personal },
    el('label', { for: inputId, text: row.label }),
    line,
    helpId ? el('p', { id: helpId, class: 'help', text: row.help }) : null,
  );
}

async function copyLink(input, feedback, label) {
  clearTimeout(feedback.timer);
  try {
    await navigator.clipboard.writeText(input.value);
    feedback.textContent = `Copied: ${label}`; // which link, said where it was copied
  } catch {
    input.focus();
    input.select();
    feedback.textContent = 'Could not copy: the link is selected, press Ctrl+C (⌘C on a Mac).';
  }
  feedback.timer = setTimeout(() => {
    feedback.textContent = '';
  }, COPIED_SHOWN_MS);
}
