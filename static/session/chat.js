// Chat: the log, unread count and the recipient list.
import { $ } from '../lib/dom.js';
import { timeOfDay } from '../lib/format.js';
import { control } from './network.js';
import { app, displayName, leads, nameOf, roleLabel } from './state.js';

// ---------------------------------------------------------------- chat

export function addChat(msg) {
  app.chat.push(msg);
  const li = document.createElement('li');
  li.className = msg.to ? 'private' : '';
  const who = document.createElement('strong');
  const from = msg.from === app.participantId ? 'You' : nameOf(msg.from);
  const to = msg.to ? ` to ${msg.to === app.participantId ? 'you' : nameOf(msg.to)} (private)` : '';
  who.textContent = `${from}${to}`;
  // The server's word on who leads: a participant named "Facilitator" gets no badge.
  const sender = app.participants.get(msg.from);
  if (sender && sender.role !== 'participant') {
    const badge = document.createElement('span');
    badge.className = 'badge role-badge';
    badge.textContent = roleLabel(sender.role);
    who.append(' ', badge);
  }
  const when = document.createElement('time');
  when.textContent = timeOfDay(msg.at);
  const text = document.createElement('p');
  text.textContent = msg.text;
  li.append(who, ' ', when, text);
  $('chat-log').append(li);
  li.scrollIntoView({ block: 'nearest' });
  if (app.panelTab !== 'chat' && msg.from !== app.participantId) {
    app.chatUnread += 1;
    const badge = $('chat-unread');
    badge.textContent = String(app.chatUnread);
    badge.hidden = false;
    $('chat-button').textContent = `Chat (${app.chatUnread} new)`;
  }
}

export function renderChatTargets(preferred) {
  const select = $('chat-to');
  const keep = preferred || select.value;
  const options = [['', 'Everyone']];
  for (const p of app.participants.values()) {
    if (p.id === app.participantId) continue;
    if (leads(app.role) || leads(p.role) || app.privateChatAllowed) {
      options.push([p.id, `${displayName(p)} (private)`]);
    }
  }
  select.replaceChildren(...options.map(([value, label]) => new Option(label, value)));
  select.value = options.some(([v]) => v === keep) ? keep : '';
  $('private-chat-state').textContent = app.privateChatAllowed
    ? 'Private messages between participants are on: the facilitator turned them on.'
    : 'You can message the facilitators privately. Messages between participants are off.';
}

export async function sendChat(event) {
  event.preventDefault();
  const text = $('chat-text').value.trim();
  if (!text) return;
  const to = $('chat-to').value || null;
  if (await control(to ? { action: 'chat', text, to } : { action: 'chat', text })) {
    $('chat-text').value = '';
  }
}
