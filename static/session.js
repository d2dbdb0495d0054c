// Circle session page: pre-join (preview, name), then the live session over socket.io + WebRTC.
// Protocol: docs/api.md. Two peer connections: publish (ours -> server), subscribe (server -> us,
// fixed slots mapped to participants by transceiver mid).

const ACK_TIMEOUT_MS = 15000;
const GATHER_TIMEOUT_MS = 5000;

const ROLE_LABELS = {
  facilitator: 'Facilitator',
  cofacilitator: 'Co-facilitator',
  participant: 'Participant',
};

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- state

const app = {
  state: 'prejoin', // prejoin | connecting | joining | joined | reconnecting | left | error
  token: null,
  tokenClaims: null,
  sessionId: decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() || ''),
  socket: null,
  everConnected: false,
  name: '',
  participantId: null,
  role: null,
  room: null,
  participants: new Map(), // id -> Participant
  slots: [],
  activeSpeaker: null,
  localStream: null,
  audioTrack: null,
  videoTrack: null,
  micOn: true,
  camOn: true,
  iceServers: [], // from the join reply: the server's STUN/TURN list
  pcPublish: null,
  pcSubscribe: null,
  generation: 0, // bumps on every (re)join so stale async work can stop
  soundBlocked: false,
  previewPromise: null,
  // Session state from the server (snapshot + events); see docs/api.md.
  waiting: new Map(), // leaders only: id -> Participant in the waiting room
  handQueue: [],
  spotlight: null,
  locked: false,
  mayUnmute: true,
  privateChatAllowed: true,
  helpRequests: new Map(), // leaders only: participant id -> unix seconds
  myHelpPending: false,
  chat: [], // {from, to, text, at}
  chatUnread: 0,
  panelTab: null, // null (closed) | 'people' | 'chat' | 'rooms'
  breakouts: { rooms: [], open: false }, // the public view (timer, rooms)
  breakoutsAt: 0, // performance.now() when `breakouts` arrived (countdowns run locally)
  plan: null, // leaders: assignment, keep-apart pairs, members of each room
  roomSpeakers: {}, // leaders: room id -> the active speaker there
  roomHelp: new Map(), // leaders: participant id -> a breakout room's call for help
  engagement: null, // leaders: the last engagement report (every second)
  quality: {}, // leaders: participant id -> {up, down, client} (every 2 s)
  myQuality: null, // our own levels {up, down}
  qualityHint: '',
  speakingNow: new Set(), // leaders: who is speaking now (on change)
};

window.circle = {
  get pcPublish() { return app.pcPublish; },
  get pcSubscribe() { return app.pcSubscribe; },
  get participantId() { return app.participantId; },
  get state() { return app.state; },
  get role() { return app.role; },
  get slots() { return app.slots; },
  get participants() { return [...app.participants.values()]; },
  get activeSpeaker() { return app.activeSpeaker; },
  get room() { return app.room; },
  get waiting() { return [...app.waiting.values()]; },
  get handQueue() { return app.handQueue; },
  get spotlight() { return app.spotlight; },
  get helpRequests() { return [...app.helpRequests.keys()]; },
  get chat() { return app.chat; },
};

const REACTIONS = ['👍', '👏', '❤️', '😂', '😮', '🙏'];
const leads = (role) => role === 'facilitator' || role === 'cofacilitator';

// ---------------------------------------------------------------- small UI helpers

function show(id, visible = true) { $(id).hidden = !visible; }

function showScreen(id) {
  for (const s of ['fatal', 'prejoin', 'waiting', 'insession', 'left']) show(s, s === id);
}

function setStatus(text) { $('conn-status').textContent = text || ''; }

function notice(text, kind = 'info', ms = 6000) {
  const el = document.createElement('div');
  el.className = `notice ${kind}`;
  el.textContent = text;
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'notice-close';
  close.textContent = '×';
  close.setAttribute('aria-label', 'Dismiss message');
  close.addEventListener('click', () => el.remove());
  el.append(close);
  $('notices').append(el);
  if (ms) setTimeout(() => el.remove(), ms);
  return el;
}

function fatal(title, message, { retry = null } = {}) {
  app.state = 'error';
  $('fatal-title').textContent = title;
  $('fatal-message').textContent = message;
  const btn = $('fatal-retry');
  btn.hidden = !retry;
  btn.onclick = retry;
  stopLocalMedia();
  showScreen('fatal');
  setStatus('');
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

function linkError(code) {
  const [title, message] = LINK_MESSAGES[code] || LINK_MESSAGES.invalid_token;
  fatal(title, message);
}

function unreachable() {
  fatal(
    "We can't reach the session right now",
    'Your device could not connect to the Circle server. Please check your internet ' +
      'connection and try again. If it keeps happening, let your facilitator know.',
    { retry: () => location.reload() },
  );
}

// ---------------------------------------------------------------- token

function b64urlDecode(part) {
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

/** Reads the token from the fragment; checks only its shape (the server verifies it). */
function readToken() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const token = (params.get('t') || '').trim();
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
  if (claims.sid && app.sessionId && claims.sid !== app.sessionId) return { error: 'invalid_token' };
  // Allow a minute of clock skew; the server has the final word.
  if (typeof claims.exp === 'number' && claims.exp * 1000 < Date.now() - 60000) {
    return { error: 'expired_token' };
  }
  return { token, claims };
}

// ---------------------------------------------------------------- local media

function stopLocalMedia() {
  if (app.localStream) for (const t of app.localStream.getTracks()) t.stop();
  app.localStream = null;
  app.audioTrack = null;
  app.videoTrack = null;
}

function deviceMessage(text) {
  const el = $('device-message');
  el.textContent = text || '';
  el.hidden = !text;
  show('device-retry', Boolean(text));
}

function describeMediaError(err, wanted) {
  const name = err && err.name;
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return (
      'Your browser is not allowing Circle to use your camera and microphone. To allow them, ' +
      'click the camera or lock icon next to the web address at the top of the window, choose ' +
      '“Allow” for camera and microphone, then press “Try camera and microphone again”. ' +
      'You can also join without them: others will see your name, but will not see or hear you.'
    );
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') {
    return `We could not find a ${wanted}. Check that it is plugged in, then try again. You can still join.`;
  }
  if (name === 'NotReadableError' || name === 'AbortError') {
    return (
      `Your ${wanted} seems to be in use by another app (for example another video call). ` +
      'Close that app, then try again. You can still join.'
    );
  }
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return 'This browser cannot use a camera or microphone here. You can still join and listen.';
  }
  return `We could not start your ${wanted}. You can still join, or try again.`;
}

async function startPreview() {
  stopLocalMedia();
  deviceMessage('');
  const video = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 20, max: 30 } };
  const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  let stream = null;
  let problem = null;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    problem = describeMediaError(null, 'camera or microphone');
  } else {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio, video });
    } catch (err) {
      problem = describeMediaError(err, 'camera or microphone');
      if (err && err.name !== 'NotAllowedError' && err.name !== 'SecurityError') {
        // One device may work without the other.
        for (const [constraints, missing] of [[{ audio }, 'camera'], [{ video }, 'microphone']]) {
          try {
            stream = await navigator.mediaDevices.getUserMedia(constraints);
            problem = `We could not start your ${missing}. You can still join with your ` +
              `${missing === 'camera' ? 'microphone' : 'camera'} only, or fix it and try again.`;
            break;
          } catch { /* try the next */ }
        }
      }
    }
  }
  if (app.state !== 'prejoin') { // joined or failed meanwhile
    if (stream) for (const t of stream.getTracks()) t.stop();
    return;
  }
  app.localStream = stream;
  app.audioTrack = stream ? stream.getAudioTracks()[0] || null : null;
  app.videoTrack = stream ? stream.getVideoTracks()[0] || null : null;
  const preview = $('preview');
  preview.srcObject = app.videoTrack ? new MediaStream([app.videoTrack]) : null;
  show('preview-placeholder', !app.videoTrack);
  deviceMessage(problem);
}

// ---------------------------------------------------------------- WebRTC helpers

function gatheringComplete(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === 'complete') done(); };
    const timer = setTimeout(done, GATHER_TIMEOUT_MS); // send what we have
    pc.addEventListener('icegatheringstatechange', check);
  });
}

function closePeerConnections() {
  for (const pc of [app.pcPublish, app.pcSubscribe]) {
    if (pc) try { pc.close(); } catch { /* already closed */ }
  }
  app.pcPublish = null;
  app.pcSubscribe = null;
}

class AckError extends Error {
  constructor(code, message) {
    super(message || code);
    this.code = code;
  }
}

async function request(event, body) {
  let res;
  try {
    res = await app.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, body);
  } catch {
    throw new AckError('timeout', 'The server did not answer in time.');
  }
  if (!res || res.error || !res.ok) {
    throw new AckError((res && res.error) || 'invalid', (res && res.message) || 'Request failed.');
  }
  return res;
}

async function publish(gen) {
  const tracks = [app.audioTrack, app.videoTrack].filter(Boolean);
  if (!tracks.length) return; // joined without media: nothing to send
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', iceServers: app.iceServers });
  app.pcPublish = pc;
  watchConnection(pc, 'publish');
  const stream = new MediaStream(tracks);
  if (app.audioTrack) {
    pc.addTransceiver(app.audioTrack, { direction: 'sendonly', streams: [stream] });
  }
  if (app.videoTrack) {
    pc.addTransceiver(app.videoTrack, {
      direction: 'sendonly',
      streams: [stream],
      sendEncodings: [{ maxBitrate: 600000, maxFramerate: 20 }],
    });
  }
  await pc.setLocalDescription(await pc.createOffer());
  await gatheringComplete(pc);
  if (gen !== app.generation) return;
  const res = await request('publish', { sdp: pc.localDescription.sdp });
  if (gen !== app.generation) return;
  await pc.setRemoteDescription({ type: 'answer', sdp: res.sdp });
}

async function subscribe(gen) {
  const res = await request('subscribe', {});
  if (gen !== app.generation) return;
  // Take the ack's slot map right away: `slots` events that arrive while we negotiate are newer.
  if (Array.isArray(res.slots)) app.slots = res.slots;
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', iceServers: app.iceServers });
  app.pcSubscribe = pc;
  watchConnection(pc, 'subscribe');
  await pc.setRemoteDescription({ type: 'offer', sdp: res.sdp });
  await pc.setLocalDescription(await pc.createAnswer());
  renderMedia();
  await gatheringComplete(pc);
  if (gen !== app.generation) return;
  await request('subscribe_answer', { sdp: pc.localDescription.sdp });
}

function watchConnection(pc, label) {
  let warned = null;
  pc.addEventListener('connectionstatechange', () => {
    if (pc !== app.pcPublish && pc !== app.pcSubscribe) return;
    const s = pc.connectionState;
    if (s === 'failed') {
      notice(
        label === 'publish'
          ? 'Your camera and microphone could not reach the session. Others may not see or hear you.'
          : 'Video and sound from the group could not reach you. Your network may be blocking it.',
        'error',
        0,
      );
    } else if (s === 'disconnected' && !warned) {
      warned = notice('Your connection is unstable. Trying to recover…', 'warn');
    } else if (s === 'connected' && warned) {
      warned.remove();
      warned = null;
    }
  });
}

// ---------------------------------------------------------------- participants and tiles

function roleLabel(role) { return ROLE_LABELS[role] || ''; }

function tileFor(id) {
  return $('grid').querySelector(`.tile[data-participant-id="${CSS.escape(id)}"]`);
}

/** A name with a leader's credentials, e.g. "Dana Kim, LCSW". */
function displayName(p) {
  return p.credentials ? `${p.name}, ${p.credentials}` : p.name || '';
}

function nameOf(id) {
  const p = app.participants.get(id) || app.waiting.get(id);
  return p ? p.name : 'Someone';
}

function initials(name) {
  return (name || '?').trim().split(/\s+/).slice(0, 2).map((w) => w[0]).join('').toUpperCase();
}

function createTile(p) {
  const tile = $('tile-template').content.firstElementChild.cloneNode(true);
  tile.dataset.participantId = p.id;
  const self = p.id === app.participantId;
  tile.classList.toggle('self', self);
  const video = tile.querySelector('video');
  video.muted = self; // never play our own mic back; everyone else's sound plays
  if (self) video.classList.add('mirror');
  $('grid').append(tile);
  return tile;
}

function updateTile(p) {
  const tile = tileFor(p.id) || createTile(p);
  const self = p.id === app.participantId;
  const audioOn = self ? app.micOn && Boolean(app.audioTrack) : p.audio !== false;
  const videoOn = self ? app.camOn && Boolean(app.videoTrack) : p.video !== false;
  const shown = displayName(p);
  tile.querySelector('.tile-name').textContent = self ? `${shown} (you)` : shown;
  tile.querySelector('.hand-badge').hidden = !p.hand;
  tile.querySelector('.spotlight-badge').hidden = app.spotlight !== p.id;
  tile.classList.toggle('spotlit', app.spotlight === p.id);
  tile.querySelector('.avatar').textContent = initials(p.name);
  const badge = tile.querySelector('.role-badge');
  const leading = leads(p.role);
  badge.hidden = !leading;
  badge.textContent = leading ? roleLabel(p.role) : '';
  tile.querySelector('.mic-state').hidden = audioOn;
  tile.querySelector('.cam-state').hidden = videoOn;
  tile.classList.toggle('video-off', !videoOn);
  tile.classList.toggle('muted', !audioOn);
  tile.setAttribute(
    'aria-label',
    [shown, self ? '(you)' : '', leading ? roleLabel(p.role) : '', audioOn ? '' : 'muted',
      videoOn ? '' : 'camera off', p.hand ? 'hand raised' : '',
      app.spotlight === p.id ? 'spotlight' : ''].filter(Boolean).join(', '),
  );
  const speaking = app.activeSpeaker === p.id;
  tile.classList.toggle('speaking', speaking);
  tile.dataset.speaking = speaking ? 'true' : 'false';
}

function visibleParticipants() {
  return [...app.participants.values()].filter(
    (p) => p.id === app.participantId || app.room == null || p.room == null || p.room === app.room,
  );
}

function renderTiles() {
  const keep = new Set(visibleParticipants().map((p) => p.id));
  for (const tile of $('grid').querySelectorAll('.tile')) {
    if (!keep.has(tile.dataset.participantId)) tile.remove();
  }
  // Spotlight first, then self, then facilitators, then by join order.
  const order = visibleParticipants().sort((a, b) => {
    const rank = (p) => (p.id === app.spotlight ? -1 : p.id === app.participantId ? 0
      : p.role === 'participant' ? 2 : 1);
    return rank(a) - rank(b);
  });
  for (const p of order) updateTile(p);
  for (const p of order) $('grid').append(tileFor(p.id)); // keeps DOM order == display order
  $('grid').dataset.count = String(order.length);
  renderQualityBadges();
  fitGrid();
  renderMedia();
}

/** Picks the column count that gives the largest 4:3 tiles that fit the grid without scrolling. */
function fitGrid() {
  const grid = $('grid');
  const n = grid.querySelectorAll('.tile').length;
  if (!n || grid.hidden) return;
  const style = getComputedStyle(grid);
  const gap = parseFloat(style.columnGap) || 0;
  const width = grid.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const height = grid.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
  let best = { cols: 1, tileW: 0 };
  for (let cols = 1; cols <= n; cols += 1) {
    const rows = Math.ceil(n / cols);
    const byWidth = (width - gap * (cols - 1)) / cols;
    const byHeight = ((height - gap * (rows - 1)) / rows) * (4 / 3);
    const tileW = Math.floor(Math.min(byWidth, byHeight));
    if (tileW > best.tileW) best = { cols, tileW };
  }
  const tileW = Math.max(best.tileW, Math.min(width, 200)); // tiny windows scroll instead
  grid.style.setProperty('--cols', String(best.cols));
  grid.style.setProperty('--tile-w', `${tileW}px`);
}

function trackForMid(mid) {
  const pc = app.pcSubscribe;
  if (!pc) return null;
  const t = pc.getTransceivers().find((tr) => tr.mid === String(mid));
  return t ? t.receiver.track : null;
}

function setTileStream(video, tracks) {
  const current = video.srcObject ? video.srcObject.getTracks() : [];
  const same = current.length === tracks.length && tracks.every((t) => current.includes(t));
  if (same) return;
  video.srcObject = tracks.length ? new MediaStream(tracks) : null;
  if (tracks.length) playTile(video);
}

function playTile(video) {
  const p = video.play();
  if (p && p.catch) {
    p.catch((err) => {
      if (err && err.name === 'NotAllowedError' && !video.muted) {
        app.soundBlocked = true;
        show('sound-button', true);
      }
    });
  }
}

/** Points each tile's <video> at the receiver tracks of that participant's slots. */
function renderMedia() {
  for (const tile of $('grid').querySelectorAll('.tile')) {
    const id = tile.dataset.participantId;
    const video = tile.querySelector('video');
    if (id === app.participantId) {
      setTileStream(video, app.videoTrack ? [app.videoTrack] : []);
      continue;
    }
    const tracks = [];
    for (const kind of ['audio', 'video']) {
      const slot = app.slots.find((s) => s.participant_id === id && s.kind === kind);
      const track = slot ? trackForMid(slot.mid) : null;
      if (track) tracks.push(track);
    }
    setTileStream(video, tracks);
  }
}

function setActiveSpeaker(id) {
  app.activeSpeaker = id || null;
  for (const tile of $('grid').querySelectorAll('.tile')) {
    const speaking = tile.dataset.participantId === app.activeSpeaker;
    tile.classList.toggle('speaking', speaking);
    tile.dataset.speaking = speaking ? 'true' : 'false';
  }
}

// ---------------------------------------------------------------- controls

function renderControls() {
  const mic = $('mic-button');
  const cam = $('cam-button');
  mic.disabled = !app.audioTrack;
  cam.disabled = !app.videoTrack;
  const micOff = !app.micOn || !app.audioTrack;
  const camOff = !app.camOn || !app.videoTrack;
  // aria-pressed = "the mute / camera-off toggle is engaged"
  mic.setAttribute('aria-pressed', String(micOff));
  cam.setAttribute('aria-pressed', String(camOff));
  mic.querySelector('.label').textContent = !app.audioTrack
    ? 'No microphone'
    : micOff ? 'Unmute microphone' : 'Mute microphone';
  cam.querySelector('.label').textContent = !app.videoTrack
    ? 'No camera'
    : camOff ? 'Turn camera on' : 'Turn camera off';
  mic.classList.toggle('off', micOff);
  cam.classList.toggle('off', camOff);
  const me = app.participants.get(app.participantId);
  // Muted by a facilitator with unmuting turned off: the server would refuse, so say why.
  const micLocked = Boolean(me && me.audio_locked && micOff && app.audioTrack);
  if (micLocked) mic.querySelector('.label').textContent = 'Muted by facilitator';
  mic.title = micLocked ? 'A facilitator has muted everyone. Raise your hand to ask to speak.' : '';
  mic.classList.toggle('locked', micLocked);
  const hand = $('hand-button');
  const raised = Boolean(me && me.hand);
  hand.setAttribute('aria-pressed', String(raised));
  hand.textContent = raised ? 'Lower hand' : 'Raise hand';
  const help = $('help-button');
  help.hidden = leads(app.role);
  help.setAttribute('aria-pressed', String(app.myHelpPending));
  help.textContent = app.myHelpPending ? 'Help requested' : 'I need help';
  if (me) updateTile(me);
}

function sendMediaState() {
  if (!app.socket || app.state !== 'joined') return;
  const body = {
    audio: Boolean(app.audioTrack) && app.micOn,
    video: Boolean(app.videoTrack) && app.camOn,
  };
  request('media_state', body).catch((err) => {
    if (err.code === 'forbidden' && body.audio) setMic(false); // the server keeps us muted
    notice(err.code === 'forbidden' ? err.message : `Could not update your status: ${err.message}`,
      'warn');
  });
}

/** Turns our microphone or camera on or off locally (the server is told by sendMediaState). */
function setDevice(kind, on) {
  const track = kind === 'audio' ? app.audioTrack : app.videoTrack;
  if (kind === 'audio') app.micOn = on; else app.camOn = on;
  if (track) track.enabled = on;
  const me = app.participants.get(app.participantId);
  if (me) me[kind] = on && Boolean(track);
  renderControls();
}

const setMic = (on) => setDevice('audio', on);
const setCam = (on) => setDevice('video', on);

function toggleMic() {
  if (!app.audioTrack) return;
  const me = app.participants.get(app.participantId);
  if (!app.micOn && me && me.audio_locked) {
    notice('A facilitator has muted everyone for now. Raise your hand to ask to speak.', 'info');
    return;
  }
  setMic(!app.micOn);
  sendMediaState();
}

function toggleCam() {
  if (!app.videoTrack) return;
  setCam(!app.camOn);
  sendMediaState();
}

async function leave() {
  if (app.state === 'left') return;
  const socket = app.socket;
  const wasJoined = app.state === 'joined';
  app.state = 'left';
  app.generation += 1;
  if (socket && socket.connected && wasJoined) {
    try {
      await socket.timeout(3000).emitWithAck('leave', {});
    } catch { /* leaving anyway */ }
  }
  if (socket) socket.disconnect();
  closePeerConnections();
  stopLocalMedia();
  for (const v of document.querySelectorAll('video')) v.srcObject = null;
  $('grid').replaceChildren();
  show('my-role', false);
  setStatus('');
  showScreen('left');
}

// ---------------------------------------------------------------- socket and join

function applyParticipant(p) {
  if (!p || !p.id) return;
  app.participants.set(p.id, p);
  if (p.id === app.participantId && p.room) app.room = p.room;
}

async function joinFlow() {
  const gen = ++app.generation;
  app.state = 'joining';
  setStatus('Joining…');
  closePeerConnections();
  let res;
  try {
    res = await request('join', {
      name: app.name, rejoin_key: rejoinKey(), measure: !$('measure-opt-out').checked,
    });
  } catch (err) {
    if (gen !== app.generation) return;
    app.socket.disconnect();
    app.state = 'prejoin';
    setStatus('');
    showScreen('prejoin');
    const final = {
      ended: ['This session has ended', 'Thank you for being part of the group today.'],
      blocked: ['You cannot rejoin this session',
        'A facilitator removed you from this session. Please contact your facilitator.'],
      not_found: ['This session no longer exists', 'Please ask your facilitator for a new link.'],
    }[err.code];
    if (final) {
      fatal(final[0], final[1]);
      return;
    }
    const text = {
      locked: 'The facilitator has locked this session, so nobody else can join right now. ' +
        'Please contact your facilitator.',
      full: 'This session is full right now. Please contact your facilitator.',
      invalid: `Please check your name: ${err.message}`,
      rate_limited: 'Too many attempts. Please wait a moment and try again.',
    }[err.code] || `We could not join the session: ${err.message}`;
    $('join-error').textContent = text;
    show('join-error', true);
    $('join-button').disabled = false;
    return;
  }
  if (gen !== app.generation) return;
  app.participantId = res.participant_id;
  app.role = res.role;
  app.iceServers = Array.isArray(res.ice_servers) ? res.ice_servers : [];
  if (res.session && res.session.title) {
    $('session-title').textContent = res.session.title;
    document.title = `${res.session.title} – Circle`;
  }
  renderRole();
  if (!res.admitted) {
    app.state = 'waiting';
    showScreen('waiting');
    setStatus('In the waiting room');
    return;
  }
  await enterSession(res, gen);
}

/** This tab's secret for this session: once admitted, a reconnect skips the waiting room. */
function rejoinKey() {
  const slot = `circle-rejoin-${app.sessionId}`;
  let key = null;
  try { key = sessionStorage.getItem(slot); } catch { /* storage blocked */ }
  if (!key) {
    const bytes = crypto.getRandomValues(new Uint8Array(18));
    key = btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_');
    try { sessionStorage.setItem(slot, key); } catch { /* a reconnect will knock again */ }
  }
  return key;
}

/** Takes the server's view of the session: the join reply, `admitted` and `snapshot`. */
function applyState(state) {
  app.participants.clear();
  for (const p of state.participants || []) applyParticipant(p);
  if (state.me) applyParticipant(state.me);
  if (!app.participants.has(app.participantId)) {
    applyParticipant({
      id: app.participantId, name: app.name, role: app.role, room: null,
      audio: Boolean(app.audioTrack) && app.micOn, video: Boolean(app.videoTrack) && app.camOn,
    });
  }
  app.room = app.participants.get(app.participantId).room ?? null;
  app.activeSpeaker = state.active_speaker ?? null;
  app.handQueue = state.hand_queue || [];
  app.spotlight = state.spotlight ?? null;
  app.locked = Boolean(state.locked);
  app.mayUnmute = state.participants_may_unmute !== false;
  app.privateChatAllowed = state.private_chat_allowed !== false;
  app.waiting.clear();
  for (const p of state.waiting || []) app.waiting.set(p.id, p);
  app.breakouts = state.breakouts || { rooms: [], open: false };
  app.breakoutsAt = performance.now();
  app.plan = state.breakout_plan || null;
  app.helpRequests.clear();
  for (const h of state.help_requests || []) app.helpRequests.set(h.participant_id, h.at);
  const me = app.participants.get(app.participantId);
  if (me && me.audio === false && app.micOn) setMic(false); // joined during a locked mute
}

async function enterSession(state, gen) {
  applyState(state);
  app.state = 'joined';
  $('measure-me').checked = !$('measure-opt-out').checked;
  showScreen('insession');
  renderAll();
  setStatus('Connecting video and sound…');
  try {
    await publish(gen);
    // Tell others if we start muted or without a device.
    if (!app.micOn || !app.camOn || !app.audioTrack || !app.videoTrack) sendMediaState();
    await subscribe(gen);
    if (gen !== app.generation) return;
    setStatus('Connected');
  } catch (err) {
    if (gen !== app.generation) return;
    console.error('media setup failed', err);
    setStatus('');
    notice(`Video and sound could not be set up: ${err.message}. Try leaving and joining again.`,
      'error', 0);
  }
}

function renderRole() {
  const text = app.role === 'participant' ? 'You are a participant'
    : app.role ? `You are the ${roleLabel(app.role).toLowerCase()}` : '';
  $('my-role').textContent = text;
  show('my-role', Boolean(text));
}

function renderAll() {
  renderBreakoutBar();
  renderRooms();
  renderTiles();
  renderControls();
  renderHeader();
  renderPanel();
  renderHelpAlerts();
}

function connect() {
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

  socket.on('connect', () => {
    if (lostNotice) { lostNotice.remove(); lostNotice = null; }
    if (app.state === 'left' || app.state === 'error') return;
    if (app.everConnected) notice('Reconnected. Rejoining the session…', 'info', 4000);
    app.everConnected = true;
    socket.io.reconnectionAttempts(12);
    joinFlow();
  });

  socket.on('connect_error', (err) => {
    if (app.state === 'left' || app.state === 'error') return;
    const code = err && err.data && err.data.error;
    if (code === 'invalid_token' || code === 'expired_token') {
      socket.disconnect();
      linkError(code);
      return;
    }
    if (!socket.active) { // refused for another reason: no automatic retry
      socket.disconnect();
      fatal('We could not join the session',
        (err && err.data && err.data.message) || 'The server refused the connection.',
        { retry: () => location.reload() });
      return;
    }
    setStatus(app.everConnected ? 'Connection lost. Reconnecting…' : 'Trying to reach the server…');
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
      fatal('You were disconnected',
        'The session ended your connection. If you did not expect this, you can try joining again.',
        { retry: () => location.reload() });
      return;
    }
    if (reason === 'io client disconnect') return;
    app.state = 'reconnecting';
    setStatus('Connection lost. Reconnecting…');
    lostNotice = notice('Connection lost. Trying to reconnect…', 'warn', 0);
  });

  socket.on('participant_joined', (p) => {
    if (!p || p.id === app.participantId) return;
    const isNew = !app.participants.has(p.id);
    applyParticipant(p);
    renderAll();
    if (isNew && (app.room == null || p.room === app.room)) notice(`${p.name} joined`, 'info', 4000);
  });

  socket.on('participant_left', (msg) => {
    const id = msg && msg.participant_id;
    const p = app.participants.get(id);
    app.participants.delete(id);
    app.waiting.delete(id);
    app.helpRequests.delete(id);
    if (app.activeSpeaker === id) app.activeSpeaker = null;
    renderAll();
    if (p && id !== app.participantId) notice(`${p.name} left`, 'info', 4000);
  });

  socket.on('participant_updated', (p) => {
    if (!p || !p.id) return;
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

  for (const [event, handler] of Object.entries(SESSION_EVENTS)) {
    socket.on(event, (msg) => {
      if (app.state === 'left' || app.state === 'error') return;
      handler(msg || {});
    });
  }

  socket.on('slots', (msg) => {
    // A map without mids can't be matched to transceivers (the server sends one if the slots
    // change before it has made its subscribe offer); the subscribe ack replaces it anyway.
    if (msg && Array.isArray(msg.slots) && msg.slots.every((s) => s && s.mid)) {
      app.slots = msg.slots;
      renderMedia();
    }
  });

  socket.on('active_speaker', (msg) => {
    const room = (msg && msg.room) || 'main';
    const id = msg ? msg.participant_id : null;
    app.roomSpeakers[room] = id;
    if (room === (app.room || 'main')) setActiveSpeaker(id);
    if (leads(app.role) && app.breakouts.open) renderRooms();
  });

  socket.on('error', (msg) => {
    const text = (msg && msg.message) || (msg && msg.error) || 'Something went wrong.';
    notice(text, 'warn');
  });
}

// ---------------------------------------------------------------- session events

/** Server events about the session (docs/api.md); each updates state, then the page. */
const SESSION_EVENTS = {
  admitted: (state) => {
    if (app.state !== 'waiting') return;
    notice('You are in. Welcome to the group.', 'info', 5000);
    enterSession(state, app.generation);
  },
  snapshot: (state) => { // after a promotion: leaders also see the waiting room and help
    applyState(state);
    renderAll();
  },
  participant_waiting: (p) => {
    app.waiting.set(p.id, p);
    notice(`${p.name} is waiting to be let in`, 'info', 8000);
    chime();
    renderPanel();
  },
  participant_admitted: (p) => {
    app.waiting.delete(p.id);
    if (p.id !== app.participantId) {
      applyParticipant(p);
      notice(`${p.name} joined`, 'info', 4000);
    }
    renderAll();
  },
  participant_denied: (msg) => {
    fatal('The facilitator did not let you in',
      msg.message || 'Please contact your facilitator if you think this is a mistake.');
  },
  removed: (msg) => {
    fatal('You were removed from the session',
      msg.blocked ? 'A facilitator removed you, and this link can no longer join this session.'
        : 'A facilitator removed you from the session. Please contact your facilitator.');
  },
  participant_removed: (msg) => {
    const name = nameOf(msg.participant_id);
    app.participants.delete(msg.participant_id);
    app.helpRequests.delete(msg.participant_id);
    renderAll();
    if (leads(app.role)) notice(`${name} was removed${msg.blocked ? ' and blocked' : ''}`, 'info');
  },
  session_ended: () => {
    fatal('The session has ended', 'Thank you for being part of the group today.');
  },
  audio_forced_off: () => {
    setMic(false);
    notice('A facilitator muted your microphone.', 'warn', 8000);
  },
  video_forced_off: () => {
    setCam(false);
    notice('A facilitator turned off your camera. You can turn it back on.', 'warn', 8000);
  },
  unmute_requested: (msg) => {
    const el = notice(`${nameOf(msg.by)} asks you to unmute. It is your choice.`, 'info', 0);
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'btn small';
    btn.textContent = 'Unmute';
    btn.addEventListener('click', () => {
      el.remove();
      if (!app.micOn) toggleMic();
    });
    el.insertBefore(btn, el.lastChild);
  },
  session_lock_changed: (msg) => {
    app.locked = Boolean(msg.locked);
    notice(app.locked ? 'The session is locked: nobody else can join.' : 'The session is open again.',
      'info', 5000);
    renderHeader();
    renderPanel();
  },
  spotlight_changed: (msg) => {
    app.spotlight = msg.participant_id ?? null;
    renderTiles();
    renderPanel();
  },
  hand_queue_changed: (msg) => {
    app.handQueue = Array.isArray(msg.queue) ? msg.queue : [];
    renderPanel();
  },
  reaction: (msg) => showReaction(msg.participant_id, msg.emoji),
  chat_message: (msg) => addChat(msg),
  help_requested: (msg) => {
    const isNew = !app.helpRequests.has(msg.participant_id);
    app.helpRequests.set(msg.participant_id, msg.at);
    chime(isNew ? 3 : 2);
    renderHelpAlerts();
  },
  help_resolved: (msg) => {
    app.helpRequests.delete(msg.participant_id);
    if (msg.participant_id === app.participantId) {
      app.myHelpPending = false;
      renderControls();
    }
    renderHelpAlerts();
  },
  role_changed: (msg) => {
    if (msg.participant_id === app.participantId) {
      app.role = msg.role;
      renderRole();
      notice(msg.role === 'participant' ? 'You are a participant again.'
        : 'You are now a co-facilitator: you can admit, mute and help people.', 'info', 8000);
    }
    renderAll();
  },
  policy_changed: (msg) => {
    const wasAllowed = app.mayUnmute;
    app.mayUnmute = msg.participants_may_unmute !== false;
    app.privateChatAllowed = msg.private_chat_allowed !== false;
    if (!leads(app.role) && wasAllowed !== app.mayUnmute) {
      notice(app.mayUnmute ? 'You can unmute yourself again.'
        : 'A facilitator muted everyone. Raise your hand to ask to speak.', 'info', 8000);
    }
    renderPanel();
    renderChatTargets();
  },
  room_changed: (msg) => {
    app.room = msg.room;
    const me = app.participants.get(app.participantId);
    if (me) me.room = msg.room;
    const others = (msg.with || []).map(nameOf).join(', ');
    notice(msg.room === 'main' ? 'You are back with the group.'
      : `You are in a private conversation with ${others || 'a facilitator'}. The group cannot see or hear you.`,
    'info', 8000);
    renderAll();
  },
};

// ---------------------------------------------------------------- controls for everyone

async function control(body, done) {
  try {
    await request('control', body);
    if (done) notice(done, 'info', 4000);
    return true;
  } catch (err) {
    notice(err.message, 'warn');
    return false;
  }
}

function toggleHand() {
  const me = app.participants.get(app.participantId);
  control({ action: me && me.hand ? 'lower_hand' : 'raise_hand' });
}

async function askForHelp() {
  if (await control({ action: 'help' })) {
    app.myHelpPending = true;
    renderControls();
    notice('A facilitator has been told privately. They will reach out to you soon.', 'info', 10000);
  }
}

function showReaction(pid, emoji) {
  const tile = tileFor(pid);
  if (!tile || !REACTIONS.includes(emoji)) return;
  const bubble = tile.querySelector('.reaction');
  bubble.textContent = emoji;
  bubble.classList.remove('show');
  void bubble.offsetWidth; // restart the animation
  bubble.classList.add('show');
  clearTimeout(bubble.timer);
  bubble.timer = setTimeout(() => bubble.classList.remove('show'), 4000);
}

/** A short, soft chime (Web Audio: no file to fetch) for knocks and help requests. */
function chime(notes = 2) {
  try {
    const ctx = chime.ctx || (chime.ctx = new AudioContext());
    for (let i = 0; i < notes; i += 1) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      const start = ctx.currentTime + i * 0.18;
      osc.frequency.value = i % 2 ? 660 : 880;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.15, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.16);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start);
      osc.stop(start + 0.17);
    }
    chime.played = (chime.played || 0) + 1;
  } catch { /* no audio output: the banner still shows */ }
}

// ---------------------------------------------------------------- chat

function addChat(msg) {
  app.chat.push(msg);
  const li = document.createElement('li');
  li.className = msg.to ? 'private' : '';
  const who = document.createElement('strong');
  const from = msg.from === app.participantId ? 'You' : nameOf(msg.from);
  const to = msg.to ? ` to ${msg.to === app.participantId ? 'you' : nameOf(msg.to)} (private)` : '';
  who.textContent = `${from}${to}`;
  const when = document.createElement('time');
  when.textContent = new Date(msg.at * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
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

function renderChatTargets(preferred) {
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
}

async function sendChat(event) {
  event.preventDefault();
  const text = $('chat-text').value.trim();
  if (!text) return;
  const to = $('chat-to').value || null;
  if (await control(to ? { action: 'chat', text, to } : { action: 'chat', text })) {
    $('chat-text').value = '';
  }
}

// ---------------------------------------------------------------- panel: people, waiting, hands

function openPanel(tab) {
  app.panelTab = app.panelTab === tab ? null : tab;
  show('panel', app.panelTab !== null);
  for (const name of ['people', 'chat', 'rooms', 'engagement']) {
    const on = app.panelTab === name;
    show(name, on);
    $(`tab-${name}`).setAttribute('aria-selected', String(on));
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

function actionButton(label, body, { confirmText = null, danger = false, done = null } = {}) {
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

/** The leader's actions on one participant; the server checks every one of them again. */
function actionsFor(p) {
  const name = p.name;
  const iAmFacilitator = app.role === 'facilitator';
  const out = [];
  if (p.id === app.participantId || p.role === 'facilitator') return out;
  out.push(p.audio !== false
    ? actionButton('Mute', { action: 'mute', target: p.id })
    : actionButton('Ask to unmute', { action: 'ask_unmute', target: p.id }, { done: `Asked ${name} to unmute` }));
  if (p.video !== false) out.push(actionButton('Stop video', { action: 'stop_video', target: p.id }));
  out.push(app.spotlight === p.id
    ? actionButton('Remove spotlight', { action: 'spotlight', target: null })
    : actionButton('Spotlight for everyone', { action: 'spotlight', target: p.id }));
  if (p.hand) out.push(actionButton('Lower hand', { action: 'lower_hand', target: p.id }));
  if (p.role === 'participant') {
    out.push((p.room || 'main').startsWith('private-')
      ? actionButton('Return to the group', { action: 'return_to_main', target: p.id })
      : actionButton('Talk privately', { action: 'private_room', target: p.id }));
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
  out.push(actionButton('Remove', { action: 'remove', target: p.id },
    { danger: true, confirmText: `Remove ${name} from the session?` }));
  out.push(actionButton('Remove and block', { action: 'remove', target: p.id, block: true },
    { danger: true, confirmText: `Remove ${name} and stop this invite from rejoining?` }));
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
    (p.room || 'main').startsWith('private-') ? 'in a private room' : '',
  ].filter(Boolean);
  label.textContent = displayName(p) + (states.length ? ` — ${states.join(', ')}` : '');
  li.append(label);
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

function renderPanel() {
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
  $('people-list').replaceChildren(...people.map((p) => personRow(p, leading ? actionsFor(p) : [])));
  if (openId) {
    const again = $('people-list').querySelector(`li[data-participant-id="${CSS.escape(openId)}"] details`);
    if (again) again.open = true;
  }
  renderQualityRows();
  $('hand-queue').replaceChildren(...app.handQueue.map((id) => {
    const li = document.createElement('li');
    li.textContent = nameOf(id);
    return li;
  }));
  show('hands-empty', app.handQueue.length === 0);
  if (leading) {
    const waiting = [...app.waiting.values()];
    $('waiting-count').textContent = String(waiting.length);
    show('waiting-empty', waiting.length === 0);
    show('admit-all', waiting.length > 1);
    $('waiting-list').replaceChildren(...waiting.map((p) => {
      const li = personRow(p, []);
      li.append(
        actionButton('Admit', { action: 'admit', target: p.id }),
        actionButton('Deny', { action: 'deny', target: p.id }, {
          danger: true, confirmText: `Do not let ${p.name} in?`,
        }),
      );
      return li;
    }));
    $('lock-toggle').textContent = app.locked ? 'Unlock session' : 'Lock session';
    $('lock-toggle').setAttribute('aria-pressed', String(app.locked));
    show('allow-unmute', !app.mayUnmute);
    $('private-chat-toggle').checked = app.privateChatAllowed;
    show('end-session', app.role === 'facilitator');
  }
  const badge = $('people-badge');
  badge.hidden = !(leading && app.waiting.size);
  badge.textContent = leading && app.waiting.size ? `${app.waiting.size} waiting` : '';
  renderChatTargets();
}

function renderHeader() {
  const leaders = [...app.participants.values()].filter((p) => leads(p.role));
  $('leaders').textContent = leaders.length ? `Led by ${leaders.map(displayName).join('; ')}` : '';
  show('leaders', leaders.length > 0);
  show('lock-state', app.locked);
}

/** Leaders only: one banner per open help request, with the ways to answer it. */
function renderHelpAlerts() {
  const box = $('help-alerts');
  if (!leads(app.role)) {
    box.replaceChildren();
    return;
  }
  box.replaceChildren(...[...app.helpRequests.entries()].map(([pid, at]) => {
    const div = document.createElement('div');
    div.className = 'help-alert';
    div.dataset.participantId = pid;
    const when = new Date(at * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    const text = document.createElement('p');
    text.textContent = `${nameOf(pid)} asked for help privately (${when}). Only facilitators see this.`;
    div.append(
      text,
      actionButton('Talk privately now', { action: 'private_room', target: pid }),
      actionButton('Mark as handled', { action: 'help_resolved', target: pid }),
    );
    return div;
  }), ...[...app.roomHelp.values()].map((call) => {
    const div = document.createElement('div');
    div.className = 'help-alert room-help';
    const text = document.createElement('p');
    text.textContent = `${nameOf(call.participant_id)} in ${call.room_name} asks you to join the room.`;
    const join = actionButton(`Join ${call.room_name}`, { action: 'breakout_visit', room: call.room });
    const dismiss = document.createElement('button');
    dismiss.type = 'button';
    dismiss.className = 'btn small';
    dismiss.textContent = 'Dismiss';
    for (const btn of [join, dismiss]) {
      btn.addEventListener('click', () => {
        app.roomHelp.delete(call.participant_id);
        renderHelpAlerts();
      });
    }
    div.append(text, join, dismiss);
    return div;
  }));
}

// ---------------------------------------------------------------- breakout rooms

const BREAKOUT_EVENTS = {
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

function clock(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** Seconds left on a countdown the server sent, counted down locally since it arrived. */
function left(serverSeconds) {
  if (serverSeconds == null) return null;
  return serverSeconds - (performance.now() - app.breakoutsAt) / 1000;
}

/** Everyone: the countdown, the room chooser, and "ask the facilitator to join". */
function renderBreakoutBar() {
  const b = app.breakouts;
  const inBreakout = (b.rooms || []).some((r) => r.id === app.room);
  const choosing = b.participants_choose && app.role === 'participant' && (b.rooms || []).length > 0;
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
    chooser.replaceChildren(...b.rooms.map((r) => {
      const here = r.id === app.room;
      const btn = actionButton(here ? `In ${r.name}` : `Join ${r.name}`,
        { action: 'breakout_choose', room: r.id });
      btn.disabled = here;
      return btn;
    }));
  }
}

function optionsFor(select, entries, value) {
  select.replaceChildren(...entries.map(([v, label]) => new Option(label, v)));
  if (value != null) select.value = value;
}

/** Leaders: prepare the plan, then run the rooms (the overview shows who is where and who
 *  is speaking in each room). */
function renderRooms() {
  if (!leads(app.role) || app.state !== 'joined') return;
  const b = app.breakouts;
  const plan = app.plan || { assignment: {}, members: {}, keep_apart: [] };
  show('rooms-prepare', !b.open);
  show('rooms-running', Boolean(b.open));
  show('rooms-back', Boolean(b.open) && app.room !== 'main');
  $('rooms-choose').checked = Boolean(b.participants_choose);
  $('rooms-reuse').disabled = !plan.has_previous;
  const participants = [...app.participants.values()].filter((p) => p.role === 'participant');
  const people = participants.map((p) => [p.id, p.name]);
  for (const id of ['apart-a', 'apart-b']) optionsFor($(id), people, $(id).value || null);
  $('apart-list').replaceChildren(...(plan.keep_apart || []).map(([a, c]) => {
    const li = document.createElement('li');
    li.className = 'person';
    li.append(`${nameOf(a)} and ${nameOf(c)} kept apart `,
      actionButton('Remove', { action: 'breakout_keep_apart', a, b: c, apart: false }));
    return li;
  }));
  const targets = [['main', 'Main room'], ...(b.rooms || []).map((r) => [r.id, r.name])];
  const where = (p) => (b.open ? p.room || 'main' : plan.assignment[p.id] || 'main');
  const groups = [['main', 'Main room'], ...(b.rooms || []).map((r) => [r.id, r.name])];
  const sections = groups.map(([roomId, label]) => {
    const section = document.createElement('section');
    section.className = 'room-card';
    section.dataset.room = roomId;
    const h = document.createElement('h4');
    const members = (roomId === 'main' ? [...app.participants.values()] : participants)
      .filter((p) => where(p) === roomId && (roomId !== 'main' || p.role === 'participant' || b.open));
    h.textContent = `${label} (${members.length})`;
    section.append(h);
    if (b.open && roomId !== 'main') {
      section.append(
        actionButton(app.room === roomId ? 'You are here' : 'Join', { action: 'breakout_visit', room: roomId }),
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
      li.append(`${displayName(p)}${speaking ? ' — speaking' : ''}${weak ? ` — ${weak} connection` : ''}`);
      if (speaking) li.classList.add('speaking');
      if (p.role === 'participant') {
        const select = document.createElement('select');
        select.setAttribute('aria-label', `Room for ${p.name}`);
        optionsFor(select, targets, roomId);
        select.addEventListener('change', () => control(b.open
          ? { action: 'breakout_move', target: p.id, room: select.value }
          : { action: 'breakout_assign', target: p.id, room: select.value === 'main' ? null : select.value }));
        li.append(select);
      }
      list.append(li);
    }
    section.append(list);
    return section;
  });
  $('rooms-list').replaceChildren(...((b.rooms || []).length ? sections : []));
}

function wireRooms() {
  for (const [event, handler] of Object.entries(BREAKOUT_EVENTS)) SESSION_EVENTS[event] = handler;
  $('rooms-create').addEventListener('submit', (e) => {
    e.preventDefault();
    control({ action: 'breakout_create', count: Number($('rooms-count').value) });
  });
  $('rooms-auto').addEventListener('click', () => control({ action: 'breakout_auto_assign' }));
  $('rooms-reuse').addEventListener('click', () => control({ action: 'breakout_reuse_previous' }));
  $('rooms-choose').addEventListener('change', (e) => control(
    { action: 'breakout_set_choose', allowed: e.target.checked }));
  $('rooms-apart').addEventListener('submit', (e) => {
    e.preventDefault();
    control({ action: 'breakout_keep_apart', a: $('apart-a').value, b: $('apart-b').value });
  });
  $('rooms-open').addEventListener('submit', (e) => {
    e.preventDefault();
    const minutes = $('rooms-minutes').value.trim();
    const body = { action: 'breakout_open', return_countdown_s: Number($('rooms-return').value || 0) };
    if (minutes) body.duration_s = Math.round(Number(minutes) * 60);
    control(body);
  });
  for (const btn of document.querySelectorAll('[data-extend]')) {
    btn.addEventListener('click', () => control(
      { action: 'breakout_extend', seconds: Number(btn.dataset.extend) }));
  }
  $('rooms-close-all').addEventListener('click', () => control({ action: 'breakout_close_all' }));
  $('rooms-back').addEventListener('click', () => control({ action: 'breakout_visit', room: 'main' }));
  $('rooms-broadcast').addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = $('broadcast-text').value.trim();
    if (text && await control({ action: 'breakout_broadcast', text }, 'Sent to all rooms')) {
      $('broadcast-text').value = '';
    }
  });
  $('breakout-help').addEventListener('click', () => control(
    { action: 'breakout_help' }, 'The facilitator has been asked to join your room.'));
  setInterval(renderBreakoutBar, 1000);
}

// ---------------------------------------------------------------- engagement (leaders)

const ENGAGEMENT_EVENTS = {
  speaking: (msg) => {
    app.speakingNow = new Set(msg.participant_ids || []);
    renderSpeakingMarks();
  },
  engagement: (report) => {
    const before = new Set(app.engagement ? app.engagement.alerts.map(alertKey) : []);
    app.engagement = report;
    for (const alert of report.alerts || []) {
      if (!before.has(alertKey(alert))) {
        notice(alertText(alert), 'warn', 15000);
        chime(2);
      }
    }
    renderEngagement();
  },
  engagement_opt_out_changed: (msg) => {
    $('measure-me').checked = !msg.opted_out;
  },
};

const alertKey = (alert) => `${alert.kind}:${alert.participant_id}`;

function alertText(alert) {
  const name = alert.name || nameOf(alert.participant_id);
  if (alert.kind === 'dominating') {
    return `${name} has spoken for ${Math.round(alert.share_pct)}% of the last 10 minutes.`;
  }
  if (alert.kind === 'silent') {
    return `${name} has not spoken for ${Math.floor(alert.silent_s / 60)} minutes.`;
  }
  return `${name}: ${alert.kind}`;
}

function duration(seconds) {
  if (seconds == null) return '–';
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  const s = Math.floor(seconds);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** The speaking marks react at once to `speaking` events (the table refreshes every second). */
function renderSpeakingMarks() {
  for (const row of $('engagement-rows').querySelectorAll('tr[data-participant-id]')) {
    const speaking = app.speakingNow.has(row.dataset.participantId);
    row.dataset.speaking = String(speaking);
    row.querySelector('.speaking-mark').textContent = speaking ? 'Speaking' : '';
  }
}

function renderEngagement() {
  const report = app.engagement;
  if (!leads(app.role) || !report) return;
  const session = report.session || {};
  const balance = session.balance_index;
  $('balance').textContent = !report.measuring ? 'Speaking time is not being measured in this session.'
    : balance == null ? 'Balance of the conversation: not enough talk yet.'
      : `Balance of the conversation: ${Math.round(balance * 100)} of 100 (100 = everyone equally).`;
  $('alerts-list').replaceChildren(...(report.alerts || []).map((alert) => {
    const li = document.createElement('li');
    li.textContent = alertText(alert);
    return li;
  }));
  const rows = Object.entries(report.participants || {})
    .filter(([, m]) => m.present)
    .sort(([, a], [, b]) => (b.speaking_s || 0) - (a.speaking_s || 0))
    .map(([pid, m]) => {
      const tr = document.createElement('tr');
      tr.dataset.participantId = pid;
      const who = document.createElement('th');
      who.scope = 'row';
      const mark = document.createElement('span');
      mark.className = 'speaking-mark';
      who.append(`${m.name} `, mark);
      const share = document.createElement('td');
      const turns = document.createElement('td');
      const silent = document.createElement('td');
      if (!m.measured) {
        share.textContent = 'not measured';
        share.colSpan = 3;
        tr.append(who, share);
        return tr;
      }
      const pct = m.share_pct ?? 0;
      const bar = document.createElement('span');
      bar.className = 'share-bar';
      bar.style.setProperty('--share', `${pct}%`);
      bar.setAttribute('aria-hidden', 'true');
      share.append(bar, ` ${Math.round(pct)}% (${duration(m.speaking_s)}; last 10 min ${Math.round(m.recent_share_pct ?? 0)}%)`);
      turns.textContent = String(m.turns);
      silent.textContent = m.speaking ? '–' : duration(m.current_silence_s);
      tr.append(who, share, turns, silent);
      return tr;
    });
  $('engagement-rows').replaceChildren(...rows);
  renderSpeakingMarks();
  const settings = report.settings || {};
  $('set-measuring').checked = settings.measuring !== false;
  $('set-alerts').checked = settings.enabled !== false;
  for (const [id, key] of [['set-dominance', 'dominance_share_pct'], ['set-silence', 'silence_min']]) {
    if (document.activeElement !== $(id) && settings[key] != null) $(id).value = settings[key];
  }
}

function wireEngagement() {
  for (const [event, handler] of Object.entries(ENGAGEMENT_EVENTS)) SESSION_EVENTS[event] = handler;
  $('tab-engagement').addEventListener('click', () => openPanel('engagement'));
  $('measure-me').addEventListener('change', (e) => control(
    { action: 'engagement_opt_out', opted_out: !e.target.checked },
    e.target.checked ? 'Your speaking time is measured again.' : 'Your speaking time is no longer measured.'));
  $('set-measuring').addEventListener('change', (e) => control(
    { action: 'engagement_settings', measuring: e.target.checked }));
  $('set-alerts').addEventListener('change', (e) => control(
    { action: 'engagement_settings', alerts_enabled: e.target.checked }));
  $('alert-settings').addEventListener('submit', (e) => {
    e.preventDefault();
    control({
      action: 'engagement_settings',
      dominance_share_pct: Number($('set-dominance').value),
      silence_min: Number($('set-silence').value),
    }, 'Alert settings saved');
  });
}

// ---------------------------------------------------------------- connection quality

const LEVEL_TEXT = { excellent: 'Excellent', good: 'Good', poor: 'Poor', lost: 'Lost' };
const CLIENT_STATS_MS = 3000;

const QUALITY_EVENTS = {
  quality: (msg) => { // leaders, every 2 s: everyone's links, both directions
    app.quality = msg.participants || {};
    renderQualityBadges();
    if (app.panelTab === 'people') renderQualityRows();
    if (app.panelTab === 'rooms' && app.breakouts.open) renderRooms();
  },
  my_quality: (msg) => {
    app.myQuality = msg;
    renderMyQuality();
  },
  quality_advice: (msg) => capVideo(Boolean(msg.cap), msg.max_bitrate_kbps, msg.max_fps),
  quality_alert: (msg) => {
    const name = msg.name || nameOf(msg.participant_id);
    const way = msg.direction === 'down' ? 'receiving' : 'sending';
    notice(msg.kind === 'connection_lost' ? `${name}'s connection was lost (${way}).`
      : `${name}'s connection has been poor for a while (${way}).`, 'warn', 15000);
    chime(2);
  },
};

/** A level in words, with the direction: never colour alone. */
function levelText(level) { return level ? LEVEL_TEXT[level] || level : 'measuring…'; }

function renderMyQuality() {
  const q = app.myQuality || {};
  const worst = ['lost', 'poor', 'good', 'excellent'].find((l) => l === q.up || l === q.down);
  const el = $('my-quality');
  el.hidden = !worst;
  el.dataset.level = worst || '';
  el.textContent = worst ? `Your connection: ${levelText(worst)}` : '';
  const hint = q.up === 'poor' || q.up === 'lost'
    ? 'Your connection is weak: turning your camera off may help others hear you.'
    : q.down === 'poor' || q.down === 'lost'
      ? 'Your connection is weak: some video is paused so that sound stays clear.' : '';
  if (hint && hint !== app.qualityHint) notice(hint, 'warn', 12000);
  app.qualityHint = hint;
}

function qualitySummary(pid) {
  const q = app.quality[pid];
  if (!q) return null;
  return `connection: sending ${levelText(q.up.level).toLowerCase()}, receiving ${levelText(q.down.level).toLowerCase()}`;
}

function renderQualityBadges() {
  for (const tile of $('grid').querySelectorAll('.tile')) {
    const q = app.quality[tile.dataset.participantId];
    const badge = tile.querySelector('.quality-badge');
    const bad = q && ['poor', 'lost'].find((l) => l === q.up.level || l === q.down.level);
    badge.hidden = !bad;
    badge.textContent = bad ? `${levelText(bad)} connection` : '';
  }
}

function detailLine(label, link, client) {
  const parts = [`${label}: ${levelText(link.level)}`];
  if (link.score != null) parts.push(`score ${Math.round(link.score)}`);
  if (link.loss_pct != null) parts.push(`loss ${link.loss_pct}%`);
  if (link.jitter_ms != null) parts.push(`jitter ${link.jitter_ms} ms`);
  if (link.rtt_ms != null) parts.push(`round trip ${Math.round(link.rtt_ms)} ms`);
  if (link.bitrate_kbps != null) parts.push(`${link.bitrate_kbps} kbit/s`);
  if (link.fps != null) parts.push(`${link.fps} frames/s`);
  if (client && client.frame_width) parts.push(`${client.frame_width}×${client.frame_height}`);
  return parts.join(', ');
}

/** Leaders: each person's row gets both directions and a details popover. */
function renderQualityRows() {
  if (!leads(app.role)) return;
  for (const li of $('people-list').querySelectorAll('li.person')) {
    const pid = li.dataset.participantId;
    const q = app.quality[pid];
    let box = li.querySelector('.quality');
    if (!q) {
      if (box) box.remove();
      continue;
    }
    if (!box) {
      box = document.createElement('details');
      box.className = 'quality';
      box.append(document.createElement('summary'), document.createElement('p'), document.createElement('p'));
      li.append(box);
    }
    const worst = ['lost', 'poor', 'good', 'excellent'].find((l) => l === q.up.level || l === q.down.level);
    box.dataset.level = worst || '';
    const [summary, up, down] = box.children;
    summary.textContent = `Connection: ↑ ${levelText(q.up.level)} ↓ ${levelText(q.down.level)}`;
    summary.setAttribute('aria-label', `${nameOf(pid)}, ${qualitySummary(pid)}. Details`);
    up.textContent = detailLine('Sending', q.up, null);
    down.textContent = detailLine('Receiving', q.down, q.client);
  }
}

/** The server asks us to send less video while our upstream is poor (and lifts it). */
async function capVideo(cap, maxKbps, maxFps) {
  const pc = app.pcPublish;
  const sender = pc && pc.getSenders().find((s) => s.track && s.track.kind === 'video');
  if (!sender) return;
  const params = sender.getParameters();
  if (!params.encodings || !params.encodings.length) return;
  params.encodings[0].maxBitrate = cap && maxKbps ? maxKbps * 1000 : 600000;
  params.encodings[0].maxFramerate = cap && maxFps ? maxFps : 20;
  try { await sender.setParameters(params); } catch (err) { console.warn('cap video', err); }
}

/** Our own view of the connection (display only on the leaders' side). */
async function sendClientStats() {
  if (app.state !== 'joined' || !app.socket) return;
  const out = {};
  let frames = 0; let freezes = 0; let lost = 0; let jitter = 0; let seen = false;
  if (app.pcSubscribe) {
    (await app.pcSubscribe.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp') {
        seen = true;
        frames += r.framesDecoded || 0;
        freezes += r.freezeCount || 0;
        lost += Math.max(0, r.packetsLost || 0);
        jitter = Math.max(jitter, (r.jitter || 0) * 1000);
        if (r.frameWidth && r.frameWidth > (out.frame_width || 0)) {
          out.frame_width = r.frameWidth;
          out.frame_height = r.frameHeight || 0;
        }
      } else if (r.type === 'candidate-pair' && r.nominated && r.currentRoundTripTime != null) {
        out.rtt_ms = r.currentRoundTripTime * 1000;
      }
    });
  }
  if (app.pcPublish) {
    (await app.pcPublish.getStats()).forEach((r) => {
      if (r.type === 'candidate-pair' && r.nominated && r.availableOutgoingBitrate != null) {
        out.available_outgoing_kbps = r.availableOutgoingBitrate / 1000;
      }
    });
  }
  if (seen) Object.assign(out, { frames_decoded: frames, freezes, packets_lost: lost, jitter_ms: jitter });
  for (const [k, v] of Object.entries(out)) if (!Number.isFinite(v) || v < 0) delete out[k];
  app.socket.emit('client_stats', out);
}

function wireQuality() {
  for (const [event, handler] of Object.entries(QUALITY_EVENTS)) SESSION_EVENTS[event] = handler;
  setInterval(() => { sendClientStats().catch(() => {}); }, CLIENT_STATS_MS);
}

// ---------------------------------------------------------------- page wiring

async function onJoinSubmit(event) {
  event.preventDefault();
  const name = $('name-input').value.trim();
  const errorEl = $('join-error');
  if (!name || name.length > 60) {
    errorEl.textContent = name ? 'Please use a name of at most 60 characters.' : 'Please enter your name.';
    errorEl.hidden = false;
    $('name-input').setAttribute('aria-invalid', 'true');
    $('name-input').focus();
    return;
  }
  $('name-input').removeAttribute('aria-invalid');
  errorEl.hidden = true;
  app.name = name;
  $('join-button').disabled = true;
  // Don't race the camera prompt: join with whatever devices it gives us.
  if (app.previewPromise) await app.previewPromise.catch(() => {});
  if (app.state !== 'prejoin') return;
  if (app.socket) app.socket.disconnect();
  app.everConnected = false;
  connect();
}

function init() {
  $('join-form').addEventListener('submit', onJoinSubmit);
  $('device-retry').addEventListener('click', () => { app.previewPromise = startPreview(); });
  $('mic-button').addEventListener('click', toggleMic);
  $('cam-button').addEventListener('click', toggleCam);
  $('leave-button').addEventListener('click', leave);
  $('waiting-leave').addEventListener('click', leave);
  $('hand-button').addEventListener('click', toggleHand);
  $('help-button').addEventListener('click', askForHelp);
  $('people-button').addEventListener('click', () => openPanel('people'));
  $('chat-button').addEventListener('click', () => openPanel('chat'));
  $('tab-people').addEventListener('click', () => openPanel('people'));
  $('tab-chat').addEventListener('click', () => openPanel('chat'));
  $('tab-rooms').addEventListener('click', () => openPanel('rooms'));
  wireRooms();
  wireEngagement();
  wireQuality();
  $('panel-close').addEventListener('click', () => openPanel(app.panelTab));
  $('chat-form').addEventListener('submit', sendChat);
  $('chat-text').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) sendChat(e);
  });
  $('react-button').addEventListener('click', () => {
    const menu = $('react-menu');
    menu.hidden = !menu.hidden;
    $('react-button').setAttribute('aria-expanded', String(!menu.hidden));
  });
  $('react-menu').append(...REACTIONS.map((emoji) => {
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'btn small';
    btn.textContent = emoji;
    btn.setAttribute('aria-label', `React ${emoji}`);
    btn.addEventListener('click', () => {
      $('react-menu').hidden = true;
      $('react-button').setAttribute('aria-expanded', 'false');
      control({ action: 'react', emoji });
    });
    return btn;
  }));
  $('mute-all').addEventListener('click', () => control(
    { action: 'mute_all', lock: $('mute-all-lock').checked }, 'Everyone is muted'));
  $('allow-unmute').addEventListener('click', () => control({ action: 'allow_unmute' }));
  $('lock-toggle').addEventListener('click', () => control({ action: app.locked ? 'unlock' : 'lock' }));
  $('lower-all').addEventListener('click', () => control({ action: 'lower_all_hands' }));
  $('admit-all').addEventListener('click', () => control({ action: 'admit_all' }));
  $('private-chat-toggle').addEventListener('change', (e) => control(
    { action: 'set_private_chat', allowed: e.target.checked }));
  $('end-session').addEventListener('click', () => {
    if (window.confirm('End the session for everyone?')) control({ action: 'end' });
  });
  $('rejoin-button').addEventListener('click', () => location.reload());
  $('sound-button').addEventListener('click', () => {
    for (const v of $('grid').querySelectorAll('video')) v.play().catch(() => {});
    app.soundBlocked = false;
    show('sound-button', false);
  });
  window.addEventListener('hashchange', () => location.reload());
  new ResizeObserver(() => fitGrid()).observe($('grid'));
  window.addEventListener('pagehide', () => {
    if (app.socket && app.state === 'joined') app.socket.emit('leave', {});
  });

  const tok = readToken();
  if (tok.error) {
    linkError(tok.error);
    return;
  }
  app.token = tok.token;
  app.tokenClaims = tok.claims;
  if (typeof tok.claims.title === 'string' && tok.claims.title) {
    $('session-title').textContent = tok.claims.title;
    document.title = `${tok.claims.title} – Circle`;
  }
  if (typeof io !== 'function') {
    unreachable();
    return;
  }
  showScreen('prejoin');
  app.previewPromise = startPreview();
}

init();
