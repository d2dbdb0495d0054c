// A private talk (a 1:1 room): a bar that stays while it lasts, on both sides, with its length
// and a one-click way back to the group. Only the two people in it know of it (the group sees
// at most that a facilitator stepped away briefly).
import { $, show } from '../lib/dom.js';
import { minSec } from '../lib/format.js';
import { control } from './network.js';
import { app, displayName, leads } from './state.js';

const inPrivate = (room) => typeof room === 'string' && room.startsWith('private-');

/** Who else is in our private room (from `room_changed`: the member sees the leader's room
 *  as the main room, like everyone else does). */
function partners() {
  return (app.roomWith || []).map((id) => app.participants.get(id)).filter(Boolean);
}

/** Called when our room changes: starts or stops the clock. */
export function privateRoomChanged(room) {
  app.privateSince = inPrivate(room) ? (app.privateSince ?? performance.now()) : null;
  renderPrivateBar();
}

export function renderPrivateBar() {
  const on = app.state === 'joined' && inPrivate(app.room);
  show('private-bar', on);
  if (!on) return;
  const others = partners();
  const names = others.length ? others.map(displayName).join(', ') : 'a facilitator';
  const seconds = Math.floor((performance.now() - (app.privateSince ?? performance.now())) / 1000);
  $('private-status').textContent = `Private talk with ${names} · ${minSec(seconds)}`;
  $('private-bar').dataset.member = app.room.slice('private-'.length);
}

export function returnToGroup() {
  // the room is named after the member it is for: either side may end it
  control({ action: 'return_to_main', target: app.room.slice('private-'.length) });
}

export function wirePrivateTalk() {
  $('private-return').addEventListener('click', returnToGroup);
  setInterval(renderPrivateBar, 1000);
}

/** Words for a person's row: the private room is shown to leaders only (the server sends it
 *  to nobody else); the group may see that a leader stepped away briefly. */
export function privateState(p) {
  if (leads(app.role) && inPrivate(p.room)) return 'in a private talk';
  if (p.away) return 'stepped away briefly';
  return '';
}

export { inPrivate };
