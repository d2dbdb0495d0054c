// The full-page messages that end the session view: link errors, no server, removed, ended.
import { $, show } from '../lib/dom.js';
import { closePeerConnections, stopLocalMedia } from './media.js';
import { app } from './state.js';
import { setStatus, showScreen } from './ui.js';

export function fatal(title, message, { retry = null } = {}) {
  app.state = 'error';
  $('fatal-title').textContent = title;
  $('fatal-message').textContent = message;
  const btn = $('fatal-retry');
  btn.hidden = !retry;
  btn.onclick = retry;
  stopLocalMedia();
  showScreen('fatal');
  setStatus('');
  show('my-quality', false); // the connection's level means nothing any more
}

/** A member's end screen: the group's next session and whom to call (server `after_session`:
 *  help lines for where they said they are, or every region's). */
export function afterSession(msg) {
  const next = msg?.next_session;
  const start = next?.scheduled_start ? new Date(next.scheduled_start) : null;
  const when =
    start && !Number.isNaN(start.getTime())
      ? start.toLocaleString([], {
          weekday: 'long',
          month: 'long',
          day: 'numeric',
          hour: 'numeric',
          minute: '2-digit',
        })
      : '';
  $('next-session').textContent = when ? `Next session: ${next.title}, ${when} (your time).` : '';
  show('next-session', Boolean(when));
  const lines = Array.isArray(msg?.help_lines) ? msg.help_lines : [];
  $('help-lines').replaceChildren(
    ...lines.flatMap((r) =>
      (r.numbers || []).map((n) => {
        const li = document.createElement('li');
        li.textContent = `${r.name}: ${n.number} — ${n.label}`;
        return li;
      }),
    ),
  );
  show('after-session', Boolean(when || lines.length));
}

const LINK_MESSAGES = {
  missing_token: [
    'This link is incomplete',
    'The link you opened is missing its access code. Please open the full link from your ' +
      'invitation again, or ask your facilitator to send you a new one.',
  ],
  invalid_token: [
    'This link is not valid',
    'We could not open the session with this link. It may have been copied only in part. ' +
      'Please open the full link from your invitation again, or ask your facilitator for a new one.',
  ],
  expired_token: [
    'This link has expired',
    'The link you used is no longer active. Please ask your facilitator to send you a new link.',
  ],
};

export function linkError(code) {
  const [title, message] = LINK_MESSAGES[code] || LINK_MESSAGES.invalid_token;
  fatal(title, message);
}

export function unreachable() {
  fatal(
    "We can't reach the session right now",
    'Your device could not connect to the Circle server. Please check your internet ' +
      'connection and try again. If it keeps happening, let your facilitator know.',
    { retry: () => location.reload() },
  );
}

/** Asks before something that cannot be undone; resolves true when confirmed. */
export function confirmDialog(title, text, okLabel, cancelLabel = 'Cancel') {
  const dialog = $('confirm-dialog');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel;
  $('confirm-cancel').textContent = cancelLabel;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
    $('confirm-cancel').focus();
  });
}

/** Leaders, after the end: where to go next, with no status chips left from the session. */
export function sessionEndedForLeaders() {
  app.state = 'left';
  app.generation += 1;
  closePeerConnections();
  stopLocalMedia();
  for (const id of ['my-role', 'lock-state', 'my-quality', 'leaders']) show(id, false);
  setStatus('');
  $('ended-summary').href = `/sessions/${encodeURIComponent(app.sessionId)}/summary`;
  showScreen('ended');
  $('ended-heading').focus();
}
