// Last-N video (docs/architecture.md): the page tells the server which tiles of others it
// shows, at their size in device pixels, so that only their video is forwarded to us; and it
// stops encoding its camera while the server says nobody watches it.
import { $ } from '../lib/dom.js';
import { app } from './state.js';
import { renderVideoNotes } from './video_note.js';

const SETTLE_MS = 250; // layout settles (resizes, scrolling, a page change) before we report
let timer = null;
let lastSent = null; // the tiles last reported, as JSON: only changes are sent

/** Tiles of others that are shown (on the current page) and at least partly in sight. */
export function visibleTiles() {
  const grid = $('grid');
  const inside = grid.getBoundingClientRect();
  const scale = window.devicePixelRatio || 1;
  const tiles = [];
  for (const tile of grid.querySelectorAll('.tile')) {
    const id = tile.dataset.participantId;
    if (tile.hidden || id === app.participantId) continue;
    const r = tile.getBoundingClientRect();
    const seenW = Math.min(r.right, inside.right) - Math.max(r.left, inside.left);
    const seenH = Math.min(r.bottom, inside.bottom) - Math.max(r.top, inside.top);
    if (seenW <= 0 || seenH <= 0) continue; // scrolled out of sight
    tiles.push({
      participant_id: id,
      width: Math.round(r.width * scale),
      height: Math.round(r.height * scale),
    });
  }
  return tiles;
}

/** Report the view once layout has settled, if it changed. */
export function reportView() {
  clearTimeout(timer);
  timer = setTimeout(sendView, SETTLE_MS);
}

/** A new subscription starts with no view on the server: report even an unchanged one. */
export function viewForgotten() {
  lastSent = null;
  reportView();
}

function sendView() {
  if (app.state !== 'joined' || !app.socket?.connected || !app.pcSubscribe) return;
  const tiles = visibleTiles();
  const text = JSON.stringify(tiles);
  if (text === lastSent) return;
  lastSent = text;
  app.view = tiles;
  app.socket.emit('view', { tiles });
}

/** The server's events of last-N: encode our camera, and each of its simulcast layers, only
 * while someone watches it. */
export const LAST_N_EVENTS = {
  video_watched: (msg) => {
    app.videoWatched = msg.watched !== false;
    app.videoLayers = Array.isArray(msg.rids) ? msg.rids : null;
    applyVideoWatched();
  },
  // the tiles our downlink's estimated bandwidth leaves without video (the server's allocation)
  video_held_back: (msg) => {
    const ids = Array.isArray(msg.publishers) ? msg.publishers : [];
    app.heldBack = new Set(ids.filter((id) => typeof id === 'string'));
    renderVideoNotes();
  },
};

/** Whether our camera's `encoding` should be on: watched, and (a simulcast layer) its rid
 * among the layers the server wants. */
function encodingActive(encoding) {
  if (!app.videoWatched) return false;
  return !encoding.rid || !app.videoLayers || app.videoLayers.includes(encoding.rid);
}

/** Our camera's encodings on (watched) or off; after each publish too. */
export async function applyVideoWatched() {
  const sender = app.pcPublish?.getSenders().find((s) => s.track?.kind === 'video');
  const params = sender?.getParameters();
  if (!params?.encodings?.length) return;
  if (params.encodings.every((e) => e.active === encodingActive(e))) return;
  for (const encoding of params.encodings) encoding.active = encodingActive(encoding);
  try {
    await sender.setParameters(params);
  } catch (err) {
    console.warn('camera encoding', err);
  }
}

export function wireView() {
  $('grid').addEventListener('scroll', reportView, { passive: true });
}
