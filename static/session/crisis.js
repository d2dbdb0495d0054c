// Crisis readiness (docs/crisis.md): the pre-join safety check (where the participant is and
// whom to call; seen by facilitators only), and for leaders the crisis response: one click on
// a person's row or tile takes them into a 1:1, shows where they are, whom to call and the
// local emergency numbers, and keeps a timestamped record. The group sees at most a calm
// holding message that names nobody.
import { $, el, show } from '../lib/dom.js';
import { confirmDialog } from './dialogs.js';
import { control } from './network.js';
import { app, displayName, leads } from './state.js';
import { chime, notice } from './ui.js';

const DEFAULT_HOLD =
  'The facilitator stepped away for a moment; please take a few minutes to reflect.';
const ACTION_WORDS = {
  started: 'Crisis response started',
  note: 'Note',
  called_emergency: 'Called emergency services',
  contacted_contact: 'Contacted emergency contact',
  group_handed_over: 'Group handed to the co-facilitator',
  group_held: 'Group held with a message',
  dropped: 'Their connection dropped',
  returned: 'They reconnected',
  safety_updated: 'They gave new safety answers',
  left: 'They left the session',
  resolved: 'Resolved',
  session_ended: 'The session ended',
};

const crisis = {
  safety: new Map(), // participant id -> the last safety_info we were shown
  records: new Map(), // participant id -> the latest crisis_updated for them
  open: null, // the participant id the crisis panel shows
};

// ---------------------------------------------------------------- the pre-join safety check

/** Only a personal invite remembers, and only on this device, and only if asked to. */
function rememberKey() {
  const inv = app.tokenClaims?.inv;
  return typeof inv === 'string' && inv ? `circle-safety-${inv}` : null;
}

/** Shows the safety check on the pre-join screen when the session asks for it. */
export function showSafetyCheck(about) {
  const on = Boolean(about?.safety_check) && app.tokenClaims?.role === 'participant';
  show('safety-check', on);
  const key = rememberKey();
  show('safety-remember-row', on && Boolean(key));
  if (!on || !key) return;
  let saved = null;
  try {
    saved = JSON.parse(localStorage.getItem(key) || 'null');
  } catch {
    saved = null;
  }
  if (!saved || typeof saved !== 'object') return;
  $('safety-location').value = String(saved.location || '').slice(0, 300);
  $('safety-contact-name').value = String(saved.contact_name || '').slice(0, 100);
  $('safety-contact-phone').value = String(saved.contact_phone || '').slice(0, 40);
  $('safety-remember').checked = true;
}

/** The safety check for the join event: null when not asked or left empty (the facilitator
 *  then sees "not given" and may ask); `{error}` for a phone number that is not one. */
export function safetyForJoin() {
  if ($('safety-check').hidden) return null;
  const location = $('safety-location').value.trim();
  const contactPhone = $('safety-contact-phone').value.trim();
  if (!/^[0-9+()\-. /]*$/.test(contactPhone)) {
    return {
      error:
        'A phone number has only digits, and perhaps +, spaces, brackets, dots, dashes or slashes.',
      field: 'safety-contact-phone',
    };
  }
  const safety = {
    location,
    contact_name: $('safety-contact-name').value.trim(),
    contact_phone: contactPhone,
  };
  const key = rememberKey();
  const given = Boolean(location || safety.contact_name || contactPhone);
  try {
    if (key && given && $('safety-remember').checked)
      localStorage.setItem(key, JSON.stringify(safety));
    else if (key) localStorage.removeItem(key);
  } catch {
    /* storage may be off: nothing is remembered */
  }
  return given ? safety : null;
}

// ---------------------------------------------------------------- leaders: starting a response

/** Any other leader in the main room now (they would be handed the group). */
function coLeaderPresent() {
  return [...app.participants.values()].some(
    (p) =>
      p.id !== app.participantId &&
      leads(p.role) &&
      (p.room || 'main') === 'main' &&
      !p.reconnecting,
  );
}

function askHold(pid) {
  const dialog = $('crisis-dialog');
  const name = nameOf(pid);
  $('crisis-dialog-title').textContent = `Start a crisis response for ${name}`;
  $('crisis-dialog-text').textContent =
    `No co-facilitator is in the group. While you are with ${name}, the group sees:`;
  $('crisis-dialog-ok').textContent = `Start crisis response for ${name}`;
  $('crisis-hold-message').value ||= DEFAULT_HOLD;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
  });
}

/** One click: into a 1:1 with them, their safety check shown, the group held. From a tile
 * (`confirm`), where a mis-tap is easy, a dialog naming the person asks first (the holding
 * dialog does when no co-leader is there). */
export async function startCrisis(pid, confirm = false) {
  crisis.open = pid;
  const body = { action: 'crisis_start', target: pid };
  const name = nameOf(pid);
  if (coLeaderPresent()) {
    if (
      confirm &&
      !(await confirmDialog(
        `Start a crisis response for ${name}?`,
        `You and ${name} go into a private room; the co-facilitator is handed the group.`,
        `Start crisis response for ${name}`,
      ))
    )
      return;
  } else {
    if (!(await askHold(pid))) return;
    const message = $('crisis-hold-message').value.trim();
    if (message) body.hold_message = message.slice(0, 300);
    body.mute_group = $('crisis-mute-group').checked;
  }
  await control(body);
}

/** Leaders may start a crisis response for a participant (the server checks again). */
export const canCrisis = (p) => leads(app.role) && p?.role === 'participant';

/** The row's one click (the tile's asks first): start a response, or open the one under way. */
export function crisisAction(pid, fromTile = false) {
  if (crisis.records.get(pid)?.ended_at === null) openPanel(pid);
  else startCrisis(pid, fromTile);
}

/** A button for a person's row (leaders, participants only). */
export function crisisButton(p) {
  if (!canCrisis(p)) return null;
  const active = crisis.records.get(p.id)?.ended_at === null;
  const btn = el('button', {
    type: 'button',
    class: 'btn small danger crisis-button',
    text: active ? 'Crisis record' : 'Crisis',
    'aria-label': `${active ? 'Crisis record for' : 'Start a crisis response for'} ${p.name}`,
  });
  btn.addEventListener('click', () => crisisAction(p.id));
  return btn;
}

export function safetyButton(p) {
  const btn = el('button', { type: 'button', class: 'btn small', text: 'Safety check' });
  btn.setAttribute('aria-label', `Safety check of ${p.name}`);
  btn.addEventListener('click', () => {
    crisis.open = p.id;
    control({ action: 'safety_view', target: p.id });
  });
  return btn;
}

// ---------------------------------------------------------------- leaders: the panel

const clock = (at) =>
  at == null
    ? ''
    : new Date(at * 1000).toLocaleTimeString([], {
        hour: 'numeric',
        minute: '2-digit',
        second: '2-digit',
      });

function nameOf(pid) {
  const p = app.participants.get(pid);
  return p ? displayName(p) : 'someone who left';
}

function renderNumbers(info) {
  const table = Array.isArray(info?.table) ? info.table : [];
  const guessed = Array.isArray(info?.regions) ? info.regions : [];
  const select = $('crisis-region');
  const previous = select.value;
  // a guess only from a region their location names, and said so; otherwise the leader chooses
  select.replaceChildren(
    ...table.map(
      (r) =>
        new Option(
          guessed.includes(r.code) ? `${r.name} (named in their location)` : r.name,
          r.code,
        ),
    ),
  );
  $('crisis-region-note').textContent = guessed.length
    ? ''
    : info?.location
      ? 'Their location names no region Circle knows: choose theirs.'
      : 'They gave no location: ask where they are, and choose their region.';
  select.value = table.some((r) => r.code === previous) ? previous : guessed[0] || 'US';
  const shown = guessed.length === 1 ? [select.value] : guessed.length ? guessed : [select.value];
  if (!shown.includes(select.value)) shown.unshift(select.value);
  $('crisis-numbers').replaceChildren(
    ...table
      .filter((r) => shown.includes(r.code))
      .flatMap((r) =>
        r.numbers.map((n) => el('li', { text: `${r.name}: ${n.number} — ${n.label}` })),
      ),
  );
}

function renderPanel() {
  const pid = crisis.open;
  const on = Boolean(pid) && leads(app.role) && app.state === 'joined';
  show('crisis-panel', on);
  if (!on) return;
  const info = crisis.safety.get(pid);
  const record = crisis.records.get(pid);
  const active = record?.ended_at === null;
  $('crisis-heading').textContent = record ? 'Crisis response' : 'Safety check';
  $('crisis-who').textContent = nameOf(pid);
  $('crisis-location').textContent = info?.given ? info.location : 'Not given';
  const contact = [info?.contact_name, info?.contact_phone].filter(Boolean).join(', ');
  $('crisis-contact').textContent = contact || 'Not given';
  renderNumbers(info);
  for (const id of ['crisis-actions', 'crisis-note-form', 'crisis-resolve']) show(id, active);
  show('crisis-export', Boolean(record));
  $('crisis-log').replaceChildren(
    ...(record?.actions || []).map((a) =>
      el(
        'li',
        { 'data-kind': a.kind },
        el('time', { text: clock(a.at) }),
        ` ${ACTION_WORDS[a.kind] || a.kind}`,
        a.note ? `: ${a.note}` : '',
        a.by && a.by !== app.participantId ? ` (${nameOf(a.by)})` : '',
      ),
    ),
  );
}

function openPanel(pid) {
  crisis.open = pid;
  if (!crisis.safety.has(pid)) control({ action: 'safety_view', target: pid });
  renderPanel();
}

function note(kind, text = '') {
  if (!crisis.open) return;
  control({ action: 'crisis_note', target: crisis.open, kind, note: text });
}

function exportRecord() {
  // the REST export needs the console sign-in (docs/crisis.md); a download link does
  const a = el('a', {
    href: `/api/sessions/${encodeURIComponent(app.sessionId)}/crises?format=csv`,
    download: `circle-${app.sessionId}-crises.csv`,
  });
  document.body.append(a);
  a.click();
  a.remove();
}

// ---------------------------------------------------------------- the group: holding

export function renderHolding() {
  const held = app.holding;
  const inMain = !app.room || app.room === 'main';
  const on = Boolean(held?.message) && inMain && !leads(app.role) && app.state === 'joined';
  show('holding', on);
  if (on) $('holding-message').textContent = held.message;
}

/** From the State (join, admitted, snapshot). */
export function applyCrisisState(state) {
  app.holding = state.holding || null;
  if (Array.isArray(state.crises)) {
    for (const c of state.crises) crisis.records.set(c.participant_id, c);
  }
  renderHolding();
  renderPanel();
}

export const CRISIS_EVENTS = {
  safety_info: (msg) => {
    crisis.safety.set(msg.participant_id, msg);
    crisis.open = msg.participant_id;
    renderPanel();
  },
  crisis_updated: (msg) => {
    crisis.records.set(msg.participant_id, msg);
    if (msg.leader_id === app.participantId && msg.ended_at === null)
      crisis.open ||= msg.participant_id;
    renderPanel();
    document.dispatchEvent(new CustomEvent('circle:crisis'));
  },
  crisis_alert: (msg) => {
    const contact = [msg.contact_name, msg.contact_phone].filter(Boolean).join(', ');
    const what = msg.kind === 'left' ? 'left the session' : 'lost their connection';
    const box = notice(
      `${nameOf(msg.participant_id)} ${what} during a crisis response. Last known location: ` +
        `${msg.location || 'not given'}. Emergency contact: ${contact || 'not given'}.`,
      'warn',
      0,
    );
    box.classList.add('crisis-alert');
    box.setAttribute('role', 'alert');
    chime(4);
  },
  group_handed_over: () => {
    show('leading-bar', true);
    chime(2);
  },
  group_held: (msg) => {
    app.holding = msg.message ? msg : null;
    renderHolding();
  },
};

export function wireCrisis() {
  $('crisis-called').addEventListener('click', () => note('called_emergency'));
  $('crisis-contacted').addEventListener('click', () => note('contacted_contact'));
  $('crisis-note-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('crisis-note').value.trim();
    if (!text) return;
    note('note', text);
    $('crisis-note').value = '';
  });
  $('crisis-resolve').addEventListener('click', () => {
    if (crisis.open) control({ action: 'crisis_end', target: crisis.open });
  });
  $('crisis-export').addEventListener('click', exportRecord);
  $('crisis-close').addEventListener('click', () => {
    crisis.open = null;
    renderPanel();
  });
  $('crisis-region').addEventListener('change', () =>
    renderNumbers(crisis.safety.get(crisis.open)),
  );
  $('leading-dismiss').addEventListener('click', () => show('leading-bar', false));
}
