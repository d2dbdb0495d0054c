// Breakout rooms: the countdown bar for everyone; the leaders' plan and overview.
import { $, show } from '../lib/dom.js';
import { minSec } from '../lib/format.js';
import { renderHelpAlerts } from './help.js';
import { actionButton, control } from './network.js';
import { app, displayName, leads, nameOf } from './state.js';
import { chime, notice } from './ui.js';

// ---------------------------------------------------------------- breakout rooms

export const BREAKOUT_EVENTS = {
  breakouts: (view) => {
    if (!view.open) app.roomHelp.clear();
    app.breakouts = view;
    app.breakoutsAt = performance.now();
    renderBreakoutBar();
    renderRooms();
  },
  breakout_plan: (plan) => {
    app.plan = plan;
    renderRooms();
  },
  breakout_broadcast: (msg) => {
    notice(`Message to all rooms from ${nameOf(msg.from)}: ${msg.text}`, 'info', 20000);
  },
  breakout_help_requested: (msg) => {
    app.roomHelp.set(msg.participant_id, msg);
    chime(3);
    renderHelpAlerts();
  },
};

function roomName(roomId) {
  if (!roomId || roomId === 'main') return 'the main room';
  if (roomId.startsWith('private-')) return 'a private conversation';
  const room = (app.breakouts.rooms || []).find((r) => r.id === roomId);
  return room ? room.name : roomId;
}

const clock = (seconds) => minSec(Math.max(0, Math.ceil(seconds)));

/** Seconds left on a countdown the server sent, counted down locally since it arrived. */
export function left(serverSeconds) {
  if (serverSeconds == null) return null;
  return serverSeconds - (performance.now() - app.breakoutsAt) / 1000;
}

/** Everyone: the countdown, the room chooser, and "ask the facilitator to join". */
export function renderBreakoutBar() {
  const b = app.breakouts;
  const inBreakout = (b.rooms || []).some((r) => r.id === app.room);
  const choosing =
    b.participants_choose && app.role === 'participant' && (b.rooms || []).length > 0;
  show('breakout-bar', app.state === 'joined' && (b.open || choosing));
  let text = '';
  const closing = left(b.closing_in_s);
  const remaining = left(b.remaining_s);
  if (b.open && closing != null) {
    text = `Breakout rooms close in ${clock(closing)}; everyone returns to the main room.`;
  } else if (b.open) {
    const where = inBreakout ? roomName(app.room) : 'Breakout rooms are open';
    text = remaining != null ? `${where} · ${clock(remaining)} left` : where;
  } else if (choosing) {
    text = 'Choose a breakout room:';
  }
  $('breakout-status').textContent = text;
  show('breakout-help', b.open && inBreakout && app.role === 'participant');
  const chooser = $('breakout-choose');
  show('breakout-choose', choosing);
  if (choosing && chooser.dataset.rooms !== JSON.stringify([b.rooms, app.room])) {
    chooser.dataset.rooms = JSON.stringify([b.rooms, app.room]);
    chooser.replaceChildren(
      ...b.rooms.map((r) => {
        const here = r.id === app.room;
        const btn = actionButton(here ? `In ${r.name}` : `Join ${r.name}`, {
          action: 'breakout_choose',
          room: r.id,
        });
        btn.disabled = here;
        return btn;
      }),
    );
  }
}

function optionsFor(select, entries, value) {
  select.replaceChildren(...entries.map(([v, label]) => new Option(label, v)));
  if (value != null) select.value = value;
}

/** What a participant is told on entering a breakout room: where, with whom, until when. */
export function breakoutWelcome(roomId, others) {
  const room = (app.breakouts.rooms || []).find((r) => r.id === roomId);
  const name = room ? room.name : 'a breakout room';
  const remaining = app.breakouts.remaining_s;
  const until =
    remaining != null
      ? ` until ${new Date(Date.now() + remaining * 1000).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' })}`
      : '';
  return `You are in ${name}${others ? ` with ${others}` : ''}${until}.`;
}

/** Leaders: prepare the plan, then run the rooms (the overview shows who is where and who
 *  is speaking in each room). */
export function renderRooms() {
  if (!leads(app.role) || app.state !== 'joined') return;
  const b = app.breakouts;
  const plan = app.plan || { assignment: {}, members: {}, keep_apart: [] };
  show('rooms-prepare', !b.open);
  show('rooms-running', Boolean(b.open));
  const closing = left(b.closing_in_s);
  $('rooms-running-heading').textContent =
    b.open && closing != null
      ? `Rooms are closing: everyone returns in ${clock(closing)}`
      : 'Rooms are open';
  show('rooms-close-all', Boolean(b.open) && closing == null);
  show('rooms-back', Boolean(b.open) && app.room !== 'main');
  $('rooms-choose').checked = Boolean(b.participants_choose);
  $('rooms-reuse').disabled = !plan.has_previous;
  const participants = [...app.participants.values()].filter((p) => p.role === 'participant');
  const people = participants.map((p) => [p.id, p.name]);
  // no default pair: the facilitator picks two different people
  for (const id of ['apart-a', 'apart-b']) {
    optionsFor($(id), [['', 'Choose a person'], ...people], $(id).value || '');
  }
  $('apart-list').replaceChildren(
    ...(plan.keep_apart || []).map(([a, c]) => {
      const li = document.createElement('li');
      li.className = 'person';
      li.append(
        `${nameOf(a)} and ${nameOf(c)} kept apart `,
        actionButton('Remove', { action: 'breakout_keep_apart', a, b: c, apart: false }),
      );
      return li;
    }),
  );
  const targets = [['main', 'Main room'], ...(b.rooms || []).map((r) => [r.id, r.name])];
  const where = (p) => (b.open ? p.room || 'main' : plan.assignment[p.id] || 'main');
  const groups = [['main', 'Main room'], ...(b.rooms || []).map((r) => [r.id, r.name])];
  const sections = groups.map(([roomId, label]) => {
    const section = document.createElement('section');
    section.className = 'room-card';
    section.dataset.room = roomId;
    const h = document.createElement('h4');
    const members = (roomId === 'main' ? [...app.participants.values()] : participants).filter(
      (p) => where(p) === roomId && (roomId !== 'main' || p.role === 'participant' || b.open),
    );
    h.textContent = `${label} (${members.length})`;
    section.append(h);
    if (b.open && roomId !== 'main') {
      section.append(
        actionButton(app.room === roomId ? 'You are here' : 'Join', {
          action: 'breakout_visit',
          room: roomId,
        }),
        actionButton('Close room', { action: 'breakout_close_room', room: roomId }),
      );
    }
    const list = document.createElement('ul');
    list.className = 'people-list';
    for (const p of members) {
      const li = document.createElement('li');
      li.className = 'person';
      li.dataset.participantId = p.id;
      const speaking = b.open && app.roomSpeakers[roomId] === p.id;
      const q = app.quality[p.id];
      const weak = q && ['poor', 'lost'].find((l) => l === q.up.level || l === q.down.level);
      li.append(
        `${displayName(p)}${speaking ? ' — speaking' : ''}${weak ? ` — ${weak} connection` : ''}`,
      );
      if (speaking) li.classList.add('speaking');
      if (p.role === 'participant') {
        const select = document.createElement('select');
        select.setAttribute('aria-label', `Room for ${p.name}`);
        optionsFor(select, targets, roomId);
        select.addEventListener('change', () =>
          control(
            b.open
              ? { action: 'breakout_move', target: p.id, room: select.value }
              : {
                  action: 'breakout_assign',
                  target: p.id,
                  room: select.value === 'main' ? null : select.value,
                },
          ),
        );
        li.append(select);
      }
      list.append(li);
    }
    section.append(list);
    return section;
  });
  $('rooms-list').replaceChildren(...((b.rooms || []).length ? sections : []));
  if (pendingReveal && (b.rooms || []).length) {
    pendingReveal = false;
    $('rooms-list').scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }
}

let pendingReveal = false; // a create or assignment was asked for: show its result when it comes

export function wireRooms() {
  $('rooms-create').addEventListener('submit', (e) => {
    e.preventDefault();
    control({ action: 'breakout_create', count: Number($('rooms-count').value) });
  });
  $('rooms-auto').addEventListener('click', () => control({ action: 'breakout_auto_assign' }));
  $('rooms-reuse').addEventListener('click', () => control({ action: 'breakout_reuse_previous' }));
  $('rooms-choose').addEventListener('change', (e) =>
    control({ action: 'breakout_set_choose', allowed: e.target.checked }),
  );
  $('rooms-apart').addEventListener('submit', (e) => {
    e.preventDefault();
    const [a, b] = [$('apart-a').value, $('apart-b').value];
    if (!a || !b || a === b) {
      notice('Choose two different people to keep apart.', 'warn');
      return;
    }
    control({ action: 'breakout_keep_apart', a, b });
  });
  $('rooms-open').addEventListener('submit', (e) => {
    e.preventDefault();
    const minutes = $('rooms-minutes').value.trim();
    const body = {
      action: 'breakout_open',
      return_countdown_s: Number($('rooms-return').value || 0),
    };
    if (minutes) body.duration_s = Math.round(Number(minutes) * 60);
    control(body);
  });
  for (const btn of document.querySelectorAll('[data-extend]')) {
    btn.addEventListener('click', () =>
      control({ action: 'breakout_extend', seconds: Number(btn.dataset.extend) }),
    );
  }
  $('rooms-close-all').addEventListener('click', () => control({ action: 'breakout_close_all' }));
  $('rooms-back-now').addEventListener('click', () =>
    control({ action: 'breakout_close_all', at_once: true }),
  );
  // the rooms made, or the assignment, appear below the form: bring them into sight
  for (const [id, event] of [
    ['rooms-create', 'submit'],
    ['rooms-auto', 'click'],
    ['rooms-reuse', 'click'],
  ]) {
    $(id).addEventListener(event, () => {
      pendingReveal = true;
    });
  }
  $('rooms-back').addEventListener('click', () =>
    control({ action: 'breakout_visit', room: 'main' }),
  );
  $('rooms-broadcast').addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = $('broadcast-text').value.trim();
    if (text && (await control({ action: 'breakout_broadcast', text }, 'Sent to all rooms'))) {
      $('broadcast-text').value = '';
    }
  });
  $('breakout-help').addEventListener('click', () =>
    control({ action: 'breakout_help' }, 'The facilitator has been asked to join your room.'),
  );
  setInterval(renderBreakoutBar, 1000);
}
