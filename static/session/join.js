// Network and join: the socket, joining and rejoining, the server's state and its events.
import { $, show } from '../lib/dom.js';
import { renderControls, renderRole, sendMediaState, setCam, setMic } from './controls.js';
import { applyCrisisState, CRISIS_EVENTS, renderHolding } from './crisis.js';
import { afterSession, fatal, linkError, unreachable } from './dialogs.js';
import { ENGAGEMENT_EVENTS } from './engagement.js';
import { sessionEvents } from './events.js';
import { renderHelpAlerts } from './help.js';
import { LAST_N_EVENTS } from './last_n.js';
import {
  closePeerConnections,
  onMediaFailed,
  publish,
  stopLocalMedia,
  subscribe,
} from './media.js';
import { keepSeat, moveTo, rejoinKey, request } from './network.js';
import { renderHeader, renderPanel } from './people.js';
import { privateRoomChanged, renderPrivateBar } from './private_talk.js';
import { QUALITY_EVENTS } from './quality.js';
import { BREAKOUT_EVENTS, renderBreakoutBar, renderRooms } from './rooms.js';
import { app, leads } from './state.js';
import { renderMedia, renderTiles, setActiveSpeaker } from './tiles.js';
import { notice, setStatus, showScreen } from './ui.js';

// ---------------------------------------------------------------- socket and join

// A cluster (docs/cluster.md): a node that stops answering this long is left for another.
const FAILOVER_AFTER_MS = 2000;
// A dead node's lease names it for up to 5 s: a join sent back to the node the page left is
// tried again instead, as is one refused while the session moves between nodes.
const JOIN_RETRY_MS = 1000;
const JOIN_RETRIES = 15;
let joinRetries = 0; // since the last join that succeeded

function applyParticipant(p) {
  if (!p?.id) return;
  app.participants.set(p.id, p);
  if (p.id === app.participantId && p.room) {
    app.room = p.room;
    privateRoomChanged(p.room);
    renderHolding();
  }
}

async function joinFlow() {
  const gen = ++app.generation;
  app.state = 'joining';
  setStatus('Joining…');
  closePeerConnections();
  let res;
  const ticket = app.moved?.ticket; // moved here: the seat, if this server accepts the ticket
  const key = rejoinKey();
  try {
    res = await request(
      'join',
      ticket
        ? { move_ticket: ticket }
        : {
            name: app.name,
            ...(key ? { rejoin_key: key } : {}),
            measure: !$('measure-opt-out').checked,
            ...(app.safety ? { safety: app.safety } : {}),
          },
    );
  } catch (err) {
    if (gen !== app.generation) return;
    const sentBack =
      err.code === 'elsewhere' && err.url && app.moved?.fled === new URL(err.url).origin;
    if ((sentBack || err.code === 'moving') && joinRetries++ < JOIN_RETRIES) {
      setStatus('Finding a new server for the session…');
      setTimeout(() => gen === app.generation && joinFlow(), JOIN_RETRY_MS);
      return;
    }
    if (err.code === 'elsewhere' && err.url) {
      moveTo(err.url);
      return;
    }
    app.socket.disconnect();
    app.state = 'prejoin';
    if (app.moved) app.moved.ticket = null; // refused or not: from now on, the pre-join screen
    setStatus('');
    showScreen('prejoin');
    const final = {
      ended: ['This session has ended', 'Thank you for being part of the group today.'],
      blocked: [
        'You cannot rejoin this session',
        'A facilitator removed you from this session. Please contact your facilitator.',
      ],
      not_found: ['This session no longer exists', 'Please ask your facilitator for a new link.'],
    }[err.code];
    if (final) {
      fatal(final[0], final[1]);
      return;
    }
    if (err.code === 'sign_in_required') {
      // a facilitator's link leads only for them, signed in; this tab keeps the link's token
      fatal('Sign in to lead this session', err.message);
      const signIn = $('fatal-sign-in');
      signIn.href = `/signin?next=${encodeURIComponent(location.pathname)}`;
      show('fatal-sign-in', true);
      return;
    }
    const text =
      {
        locked:
          'The facilitator has locked this session, so nobody else can join right now. ' +
          'Please contact your facilitator.',
        full: 'This session is full right now. Please contact your facilitator.',
        invalid: `Please check your name: ${err.message}`,
        rate_limited: 'Too many attempts. Please wait a moment and try again.',
        move_refused: 'We could not bring you back to your place. Please join again.',
      }[err.code] || `We could not join the session: ${err.message}`;
    $('join-error').textContent = text;
    show('join-error', true);
    $('join-button').disabled = false;
    return;
  }
  if (gen !== app.generation) return;
  joinRetries = 0;
  keepSeat(res);
  if (ticket) {
    // carried over: the person and their microphone and camera as the server kept them
    app.moved.ticket = null;
    app.name = res.me?.name || app.name;
    if (res.me) {
      setMic(res.me.audio !== false);
      setCam(res.me.video !== false);
    }
  }
  app.participantId = res.participant_id;
  app.role = res.role;
  app.iceServers = Array.isArray(res.ice_servers) ? res.ice_servers : [];
  app.nodes = Array.isArray(res.nodes) ? res.nodes.filter((u) => typeof u === 'string') : [];
  if (res.session?.title) {
    $('session-title').textContent = res.session.title;
    document.title = `${res.session.title} – Circle`;
  }
  renderRole();
  if (res.resumed) {
    notice(
      res.restored
        ? 'The server restarted. You are back in your room.'
        : 'You are back in the session.',
      'info',
      5000,
    );
  }
  if (!res.admitted) {
    app.state = 'waiting';
    showScreen('waiting');
    setStatus('In the waiting room');
    $('waiting-heading-main').focus();
    return;
  }
  await enterSession(res, gen);
}

/** Takes the server's view of the session: the join reply, `admitted` and `snapshot`. */
function applyState(state) {
  app.participants.clear();
  for (const p of state.participants || []) applyParticipant(p);
  if (state.me) applyParticipant(state.me);
  if (!app.participants.has(app.participantId)) {
    applyParticipant({
      id: app.participantId,
      name: app.name,
      role: app.role,
      room: null,
      audio: Boolean(app.audioTrack) && app.micOn,
      video: Boolean(app.videoTrack) && app.camOn,
    });
  }
  app.room = app.participants.get(app.participantId).room ?? null;
  app.activeSpeaker = state.active_speaker ?? null;
  app.handQueue = state.hand_queue || [];
  app.spotlight = state.spotlight ?? null;
  app.locked = Boolean(state.locked);
  app.mayUnmute = state.participants_may_unmute !== false;
  app.privateChatAllowed = state.private_chat_allowed === true;
  app.waiting.clear();
  for (const p of state.waiting || []) app.waiting.set(p.id, p);
  app.breakouts = state.breakouts || { rooms: [], open: false };
  app.breakoutsAt = performance.now();
  app.plan = state.breakout_plan || null;
  app.helpRequests.clear();
  for (const h of state.help_requests || []) app.helpRequests.set(h.participant_id, h.at);
  const me = app.participants.get(app.participantId);
  if (me && me.audio === false && app.micOn) setMic(false); // joined during a locked mute
  applyCrisisState(state);
}

/** Our peer connections failed (or the server says so): new ones, in the same room. */
let restarting = false;
async function restartMedia() {
  if (restarting || app.state !== 'joined') return;
  restarting = true;
  const gen = ++app.generation;
  closePeerConnections();
  setStatus('Reconnecting video and sound…');
  try {
    await request('restart_media', {});
    await Promise.all([publish(gen), subscribe(gen)]);
    if (gen === app.generation) setStatus('Connected');
  } catch (err) {
    if (gen === app.generation)
      notice(`Video and sound could not reconnect: ${err.message}`, 'warn');
  } finally {
    restarting = false;
  }
}
onMediaFailed(restartMedia);

async function enterSession(state, gen) {
  applyState(state);
  app.state = 'joined';
  $('measure-me').checked = !$('measure-opt-out').checked;
  showScreen('insession');
  renderAll();
  setStatus('Connecting video and sound…');
  try {
    // Both at once: each is its own connection, and seeing the others should not wait for
    // our own camera's negotiation (about a quarter of a second in Chromium).
    const publishing = publish(gen).then(() => {
      // Tell others if we start muted or without a device.
      if (!app.micOn || !app.camOn || !app.audioTrack || !app.videoTrack) sendMediaState();
    });
    await Promise.all([publishing, subscribe(gen)]);
    if (gen !== app.generation) return;
    setStatus('Connected');
  } catch (err) {
    if (gen !== app.generation) return;
    console.error('media setup failed', err);
    setStatus('');
    notice(
      `Video and sound could not be set up: ${err.message}. Try leaving and joining again.`,
      'error',
      0,
    );
  }
}

function renderAll() {
  renderPrivateBar();
  renderBreakoutBar();
  renderRooms();
  renderTiles();
  renderControls();
  renderHeader();
  renderPanel();
  renderHelpAlerts();
}

export function connect() {
  app.state = 'connecting';
  setStatus('Connecting…');
  const socket = io({
    transports: ['websocket'],
    auth: { token: app.token },
    // Give up quickly on the first connection (the page says why); once in, keep trying longer.
    reconnectionAttempts: 4,
    reconnectionDelayMax: 4000,
    timeout: 10000,
  });
  app.socket = socket;
  let lostNotice = null;
  let lostAt = null; // when the connection dropped
  let retryFailed = false; // whether an attempt to reconnect failed since

  /** Our node has not answered for FAILOVER_AFTER_MS: go on at another node of the cluster
   * (it serves the page; the join there resumes us, or names the session's new node). */
  const failOver = () => {
    if (lostAt === null || !retryFailed || socket.connected || !app.nodes.length) return;
    if (app.state !== 'reconnecting' || !navigator.onLine) return; // offline: ours may be fine
    if (performance.now() - lostAt < FAILOVER_AFTER_MS) return;
    app.state = 'left'; // nothing more from this socket
    socket.disconnect();
    closePeerConnections();
    moveTo(app.nodes[0], location.origin);
  };

  socket.on('connect', () => {
    lostAt = null;
    if (lostNotice) {
      lostNotice.remove();
      lostNotice = null;
    }
    if (app.state === 'left' || app.state === 'error') return;
    if (app.everConnected) setStatus('Reconnected. Rejoining your room…');
    app.everConnected = true;
    socket.io.reconnectionAttempts(25); // about two minutes, longer than the place is kept
    joinFlow();
  });

  socket.on('move', (msg) => {
    if (app.state === 'left' || app.state === 'error' || typeof msg?.url !== 'string') return;
    app.state = 'left'; // nothing more from this socket: the page goes on at msg.url
    socket.disconnect();
    closePeerConnections();
    moveTo(msg.url);
  });

  socket.on('connect_error', (err) => {
    if (app.state === 'left' || app.state === 'error') return;
    const code = err?.data?.error;
    if (code === 'invalid_token' || code === 'expired_token') {
      socket.disconnect();
      linkError(code);
      return;
    }
    if (!socket.active) {
      // refused for another reason: no automatic retry
      socket.disconnect();
      fatal(
        'We could not join the session',
        err?.data?.message || 'The server refused the connection.',
        { retry: () => location.reload() },
      );
      return;
    }
    setStatus(app.everConnected ? 'Connection lost. Reconnecting…' : 'Trying to reach the server…');
    retryFailed = true;
    failOver();
  });

  socket.io.on('reconnect_failed', () => {
    if (app.state === 'left' || app.state === 'error') return;
    socket.disconnect();
    closePeerConnections();
    unreachable();
  });

  socket.on('disconnect', (reason) => {
    if (app.state === 'left' || app.state === 'error') return;
    app.generation += 1;
    closePeerConnections();
    if (reason === 'io server disconnect') {
      fatal(
        'You were disconnected',
        'The session ended your connection. If you did not expect this, you can try joining again.',
        { retry: () => location.reload() },
      );
      return;
    }
    if (reason === 'io client disconnect') return;
    app.state = 'reconnecting';
    lostAt = performance.now();
    retryFailed = false;
    setTimeout(failOver, FAILOVER_AFTER_MS);
    setStatus('Connection lost. Reconnecting…');
    lostNotice = notice(
      'Your connection dropped. Reconnecting… you are still in the session.',
      'warn',
      0,
    );
  });

  socket.on('participant_joined', (p) => {
    if (!p || p.id === app.participantId) return;
    const isNew = !app.participants.has(p.id);
    applyParticipant(p);
    renderAll();
    if (isNew && (app.room == null || p.room === app.room))
      notice(`${p.name} joined`, 'info', 4000);
  });

  socket.on('participant_left', (msg) => {
    const id = msg?.participant_id;
    const p = app.participants.get(id);
    app.participants.delete(id);
    app.waiting.delete(id);
    app.helpRequests.delete(id);
    if (app.activeSpeaker === id) app.activeSpeaker = null;
    renderAll();
    if (p && id !== app.participantId) notice(`${p.name} left`, 'info', 4000);
  });

  socket.on('participant_updated', (p) => {
    if (!p?.id) return;
    const me = p.id === app.participantId;
    if (me) {
      const prev = app.participants.get(p.id) || {};
      // We own our mic and camera state locally; take everything else from the server.
      p = { ...prev, ...p, audio: prev.audio ?? p.audio, video: prev.video ?? p.video };
      if (p.role && p.role !== app.role) {
        app.role = p.role;
        renderRole();
      }
    }
    applyParticipant(p);
    renderTiles();
    renderControls();
    renderHeader();
    renderPanel();
  });

  const session = sessionEvents({
    applyParticipant,
    applyState,
    enterSession,
    renderAll,
    restartMedia,
  });
  const events = {
    ...session,
    ...BREAKOUT_EVENTS,
    ...ENGAGEMENT_EVENTS,
    ...QUALITY_EVENTS,
    ...CRISIS_EVENTS,
    ...LAST_N_EVENTS,
  };
  for (const [event, handler] of Object.entries(events)) {
    socket.on(event, (msg) => {
      if (app.state === 'left' || app.state === 'error') return;
      handler(msg || {});
    });
  }
  // comes just after `session_ended`: for the end screen already shown
  socket.on('after_session', (msg) => afterSession(msg || {}));

  socket.on('slots', (msg) => {
    // A map without mids can't be matched to transceivers (the server sends one if the slots
    // change before it has made its subscribe offer); the subscribe ack replaces it anyway.
    if (msg && Array.isArray(msg.slots) && msg.slots.every((s) => s?.mid)) {
      app.slots = msg.slots;
      renderMedia();
    }
  });

  socket.on('active_speaker', (msg) => {
    const room = msg?.room || 'main';
    const id = msg ? msg.participant_id : null;
    app.roomSpeakers[room] = id;
    if (room === (app.room || 'main')) setActiveSpeaker(id);
    if (leads(app.role) && app.breakouts.open) renderRooms();
  });

  socket.on('error', (msg) => {
    const text = msg?.message || msg?.error || 'Something went wrong.';
    notice(text, 'warn');
  });
}

export async function leave() {
  if (app.state === 'left') return;
  const socket = app.socket;
  const wasJoined = app.state === 'joined';
  app.state = 'left';
  app.generation += 1;
  if (socket?.connected && wasJoined) {
    try {
      await socket.timeout(3000).emitWithAck('leave', {});
    } catch {
      /* leaving anyway */
    }
  }
  if (socket) socket.disconnect();
  closePeerConnections();
  stopLocalMedia();
  for (const v of document.querySelectorAll('video, audio')) v.srcObject = null;
  $('grid').replaceChildren();
  show('my-role', false);
  setStatus('');
  showScreen('left');
}
