// The side panel and the people tab: everyone, the waiting room, hands, and leaders' actions.
import { $, el, show } from '../lib/dom.js';
import { renderChatTargets } from './chat.js';
import { crisisButton, safetyButton } from './crisis.js';
import { renderEngagement } from './engagement.js';
import { actionButton, control } from './network.js';
import { inPrivate, privateState } from './private_talk.js';
import { renderQualityRows } from './quality.js';
import { renderRooms } from './rooms.js';
import { app, displayName, leads, linkOf, nameOf, roleLabel } from './state.js';
import { fitGrid } from './tiles.js';

// ---------------------------------------------------------------- panel: people, waiting, hands

const TABS = ['people', 'chat', 'rooms', 'engagement'];

/** The toolbar's People and Chat buttons: open the panel on that tab, or close it. */
export function togglePanel(tab) {
  openPanel(app.panelTab === tab ? null : tab);
}

/** Shows the panel on `tab` (null closes it). Selecting a tab never closes the panel. */
export function openPanel(tab) {
  app.panelTab = tab;
  show('panel', app.panelTab !== null);
  for (const name of TABS) {
    const on = app.panelTab === name;
    show(name, on);
    $(`tab-${name}`).setAttribute('aria-selected', String(on));
    $(`tab-${name}`).tabIndex = on || (app.panelTab === null && name === 'people') ? 0 : -1;
    if ($(`${name}-button`)) $(`${name}-button`).setAttribute('aria-expanded', String(on));
  }
  if (app.panelTab === 'people') renderPanel();
  if (app.panelTab === 'rooms') renderRooms();
  if (app.panelTab === 'engagement') renderEngagement();
  if (app.panelTab === 'chat') {
    app.chatUnread = 0;
    show('chat-unread', false);
    $('chat-button').textContent = 'Chat';
    renderChatTargets();
    $('chat-text').focus();
  }
  fitGrid();
}

/** The ARIA tab pattern: arrow keys, Home and End move between the visible tabs. */
export function wireTabs() {
  for (const name of TABS) {
    const tab = $(`tab-${name}`);
    tab.addEventListener('click', () => openPanel(name));
    tab.addEventListener('keydown', (e) => {
      const visible = TABS.filter((n) => !$(`tab-${n}`).hidden);
      const i = visible.indexOf(name);
      const to = {
        ArrowRight: visible[(i + 1) % visible.length],
        ArrowLeft: visible[(i - 1 + visible.length) % visible.length],
        Home: visible[0],
        End: visible[visible.length - 1],
      }[e.key];
      if (!to) return;
      e.preventDefault();
      openPanel(to);
      $(`tab-${to}`).focus();
    });
  }
  $('panel-close').addEventListener('click', () => openPanel(null));
}

/** One click for a leader: mute, or ask to unmute (never the facilitator, never oneself). */
export function muteButton(p) {
  if (!leads(app.role) || p.id === app.participantId || p.role === 'facilitator') return null;
  const btn =
    p.audio !== false
      ? actionButton('Mute', { action: 'mute', target: p.id })
      : actionButton(
          'Ask to unmute',
          { action: 'ask_unmute', target: p.id },
          { done: `Asked ${p.name} to unmute` },
        );
  btn.classList.add('inline-mute');
  btn.setAttribute('aria-label', `${btn.textContent} ${p.name}`);
  return btn;
}

/** The leader's actions on one participant; the server checks every one of them again. */
function actionsFor(p) {
  const name = p.name;
  const iAmFacilitator = app.role === 'facilitator';
  const out = [];
  if (p.id === app.participantId || p.role === 'facilitator') return out;
  if (p.video !== false)
    out.push(actionButton('Stop video', { action: 'stop_video', target: p.id }));
  out.push(
    app.spotlight === p.id
      ? actionButton('Remove spotlight', { action: 'spotlight', target: null })
      : actionButton('Spotlight for everyone', { action: 'spotlight', target: p.id }),
  );
  if (p.hand) out.push(actionButton('Lower hand', { action: 'lower_hand', target: p.id }));
  if (p.role === 'participant') {
    out.push(safetyButton(p));
    out.push(
      inPrivate(p.room)
        ? actionButton('Return to the group', { action: 'return_to_main', target: p.id })
        : actionButton('Talk privately', { action: 'private_room', target: p.id }),
    );
  }
  const message = document.createElement('button');
  message.type = 'button';
  message.className = 'btn small';
  message.textContent = 'Message privately';
  message.addEventListener('click', () => {
    if (app.panelTab !== 'chat') openPanel('chat');
    renderChatTargets(p.id);
  });
  out.push(message);
  if (iAmFacilitator && p.role === 'participant') {
    out.push(actionButton('Make co-facilitator', { action: 'promote', target: p.id }));
  }
  if (iAmFacilitator && p.role === 'cofacilitator') {
    out.push(actionButton('Make participant', { action: 'demote', target: p.id }));
  }
  out.push(
    actionButton(
      'Remove',
      { action: 'remove', target: p.id },
      { danger: true, confirmText: `Remove ${name} from the session?` },
    ),
  );
  out.push(
    actionButton(
      'Remove and lock the session',
      { action: 'remove', target: p.id, lock: true },
      { danger: true, confirmText: `Remove ${name} and let nobody else join?` },
    ),
  );
  out.push(
    actionButton(
      'Remove and block',
      { action: 'remove', target: p.id, block: true },
      {
        danger: true,
        confirmText: `Remove ${name} and stop them rejoining from this browser or their personal invite?`,
      },
    ),
  );
  return out;
}

function personRow(p, actions) {
  const li = document.createElement('li');
  li.className = 'person';
  li.dataset.participantId = p.id;
  const label = document.createElement('span');
  label.className = 'person-name';
  const states = [
    p.id === app.participantId ? 'you' : '',
    leads(p.role) ? roleLabel(p.role).toLowerCase() : '',
    p.audio === false ? 'muted' : '',
    p.video === false ? 'camera off' : '',
    p.hand ? 'hand raised' : '',
    privateState(p),
  ].filter(Boolean);
  label.textContent = displayName(p) + (states.length ? ` — ${states.join(', ')}` : '');
  li.append(label);
  const mute = p.admitted === false ? null : muteButton(p);
  if (mute) li.append(mute);
  const urgent = p.admitted === false ? null : crisisButton(p);
  if (urgent) li.append(urgent);
  if (actions.length) {
    const menu = document.createElement('details');
    menu.className = 'menu';
    const summary = document.createElement('summary');
    summary.textContent = 'Actions';
    summary.setAttribute('aria-label', `Actions for ${p.name}`);
    const box = document.createElement('div');
    box.className = 'menu-items';
    box.append(...actions);
    menu.append(summary, box);
    li.append(menu);
  }
  return li;
}

export function renderPanel() {
  if (app.state !== 'joined') return;
  const leading = leads(app.role);
  show('lead-tools', leading);
  show('tab-rooms', leading);
  show('tab-engagement', leading);
  const people = [...app.participants.values()];
  $('people-count').textContent = `(${people.length})`;
  // Keep an open action menu open across re-renders.
  const open = $('people-list').querySelector('details[open]');
  const openId = open ? open.closest('li').dataset.participantId : null;
  $('people-list').replaceChildren(
    ...people.map((p) => personRow(p, leading ? actionsFor(p) : [])),
  );
  if (openId) {
    const again = $('people-list').querySelector(
      `li[data-participant-id="${CSS.escape(openId)}"] details`,
    );
    if (again) again.open = true;
  }
  renderQualityRows();
  $('hand-queue').replaceChildren(...app.handQueue.map((id) => handRow(id, leading)));
  show('hands-empty', app.handQueue.length === 0);
  if (leading) {
    const waiting = [...app.waiting.values()];
    $('waiting-count').textContent = String(waiting.length);
    show('waiting-empty', waiting.length === 0);
    show('admit-all', waiting.length > 1);
    $('waiting-list').replaceChildren(
      ...waiting.map((p) => {
        const li = personRow(p, []);
        li.append(
          el('span', { class: 'knock-link', text: linkOf(p) }),
          actionButton('Admit', { action: 'admit', target: p.id }),
          actionButton(
            'Deny',
            { action: 'deny', target: p.id },
            {
              danger: true,
              confirmText: `Do not let ${p.name} in?`,
            },
          ),
        );
        return li;
      }),
    );
    $('lock-toggle').textContent = app.locked ? 'Unlock session' : 'Lock session';
    $('lock-toggle').setAttribute('aria-pressed', String(app.locked));
    show('allow-unmute', !app.mayUnmute);
    $('private-chat-toggle').checked = app.privateChatAllowed;
  }
  show('end-zone', app.role === 'facilitator');
  const badge = $('people-badge');
  badge.hidden = !(leading && app.waiting.size);
  badge.textContent = leading && app.waiting.size ? `${app.waiting.size} waiting` : '';
  renderChatTargets();
}

/** A raised hand; leaders get one click to lower it or to call on the person. */
function handRow(id, leading) {
  const li = document.createElement('li');
  li.className = 'person';
  li.dataset.participantId = id;
  const name = document.createElement('span');
  name.className = 'person-name';
  name.textContent = nameOf(id);
  li.append(name);
  if (!leading) return li;
  const callOn = document.createElement('button');
  callOn.type = 'button';
  callOn.className = 'btn small';
  callOn.textContent = 'Call on';
  callOn.setAttribute('aria-label', `Call on ${nameOf(id)}`);
  callOn.addEventListener('click', async () => {
    const p = app.participants.get(id);
    if (await control({ action: 'lower_hand', target: id }, `You called on ${nameOf(id)}`)) {
      if (p && p.audio === false) control({ action: 'ask_unmute', target: id });
    }
  });
  const lower = actionButton('Lower hand', { action: 'lower_hand', target: id });
  lower.setAttribute('aria-label', `Lower ${nameOf(id)}'s hand`);
  li.append(callOn, lower);
  return li;
}

export function renderHeader() {
  const leaders = [...app.participants.values()].filter((p) => leads(p.role));
  $('leaders').textContent = leaders.length ? `Led by ${leaders.map(displayName).join('; ')}` : '';
  show('leaders', leaders.length > 0);
  show('lock-state', app.locked);
}
