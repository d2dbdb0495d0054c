// Talking to the server: the token, requests with an ack, controls and their buttons.
import { app } from './state.js';
import { notice } from './ui.js';

const ACK_TIMEOUT_MS = 15000;

// ---------------------------------------------------------------- token

function b64urlDecode(part) {
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

/** This tab's copy of the link's token: kept in sessionStorage, gone from the address bar
 * (and so from the browser's history) as soon as the page has read it. A different link in
 * this tab is another seat: the rejoin key kept for the old one is dropped. */
function takeToken() {
  const slot = `circle-token-${app.sessionId}`;
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  let token = (params.get('t') || '').trim();
  takeMove(params);
  try {
    const kept = sessionStorage.getItem(slot);
    if (token && kept && token !== kept) sessionStorage.removeItem(keySlot());
    if (token) sessionStorage.setItem(slot, token);
    else token = kept || '';
  } catch {
    /* storage blocked: keep the token in the address bar, or the page cannot rejoin */
    return token;
  }
  if (params.has('t') || params.has('mv'))
    history.replaceState(null, '', location.pathname + location.search);
  return token;
}

/** Reads the token (see takeToken); checks only its shape (the server verifies it). */
export function readToken() {
  const token = takeToken();
  if (!token) return { error: 'missing_token' };
  const parts = token.split('.');
  if (parts.length !== 3) return { error: 'invalid_token' };
  let claims;
  try {
    claims = JSON.parse(b64urlDecode(parts[1]));
  } catch {
    return { error: 'invalid_token' };
  }
  if (!claims || typeof claims !== 'object') return { error: 'invalid_token' };
  if (claims.sid && app.sessionId && claims.sid !== app.sessionId)
    return { error: 'invalid_token' };
  // Allow a minute of clock skew; the server has the final word.
  if (typeof claims.exp === 'number' && claims.exp * 1000 < Date.now() - 60000) {
    return { error: 'expired_token' };
  }
  return { token, claims };
}

class AckError extends Error {
  constructor(code, message, url) {
    super(message || code);
    this.code = code;
    this.url = url; // with code "elsewhere": the node that runs the session
  }
}

/** Go on at another node of the cluster (the session runs there, this one is draining, or
 * it stopped answering: `fled` is then its origin): the same page there, with the link's
 * token and the move ticket our last join was given in the fragment (each origin has its own
 * sessionStorage; the rejoin key itself never goes into a URL). That page takes them, clears
 * the address bar and asks the server there to carry the seat over; only a ticket the server
 * accepts skips its pre-join screen. */
export function moveTo(url, fled = '') {
  const base = new URL(url);
  const fragment = new URLSearchParams({ t: app.token });
  if (app.moveTicket) fragment.set('mv', app.moveTicket);
  if (fled) fragment.set('f', fled);
  location.assign(`${base.origin}${location.pathname}#${fragment}`);
}

/** What moveTo carried here, kept in `app.moved` for the page to ask to rejoin at once. */
function takeMove(params) {
  const ticket = params.get('mv');
  if (!ticket) return;
  app.moved = {
    ticket,
    fled: params.get('f') || null, // the node that stopped answering (see joinFlow)
  };
}

export async function request(event, body) {
  let res;
  try {
    res = await app.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, body);
  } catch {
    throw new AckError('timeout', 'The server did not answer in time.');
  }
  if (!res || res.error || !res.ok) {
    throw new AckError(res?.error || 'invalid', res?.message || 'Request failed.', res?.url);
  }
  return res;
}

export async function control(body, done) {
  try {
    await request('control', body);
    if (done) notice(done, 'info', 4000);
    return true;
  } catch (err) {
    notice(err.message, 'warn');
    return false;
  }
}

export function actionButton(
  label,
  body,
  { confirmText = null, danger = false, done = null } = {},
) {
  const btn = document.createElement('button');
  btn.type = 'button';
  btn.className = `btn small${danger ? ' danger' : ''}`;
  btn.textContent = label;
  btn.addEventListener('click', () => {
    if (confirmText && !window.confirm(confirmText)) return;
    control(body, done);
  });
  return btn;
}

function keySlot() {
  return `circle-rejoin-${app.sessionId}`;
}

let keyInMemory = null; // when sessionStorage is blocked

/** The key the server gave this tab's last join (null before any): a reconnect with it is
 * the same person, straight back in. Only the server makes keys; none is read from a URL. */
export function rejoinKey() {
  try {
    return sessionStorage.getItem(keySlot()) || keyInMemory;
  } catch {
    return keyInMemory;
  }
}

/** Keeps what a join reply gave: the rejoin key (this tab) and the move ticket (memory). */
export function keepSeat(reply) {
  if (typeof reply.move_ticket === 'string') app.moveTicket = reply.move_ticket;
  if (typeof reply.rejoin_key !== 'string') return;
  keyInMemory = reply.rejoin_key;
  try {
    sessionStorage.setItem(keySlot(), reply.rejoin_key);
  } catch {
    /* storage blocked: kept in memory for this page's own reconnects */
  }
}
