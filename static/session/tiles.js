// The video grid: one tile per participant in our room, its tracks, the speaker and reactions.
import { $ } from '../lib/dom.js';
import { canCrisis, crisisAction } from './crisis.js';
import { reportView } from './last_n.js';
import { control } from './network.js';
import { applyPaging } from './paging.js';
import { renderQualityBadges } from './quality.js';
import { renderSound } from './sound.js';
import { app, displayName, leads, REACTIONS, roleLabel, shownSpotlight } from './state.js';
import { renderVideoNote } from './video_note.js';

// ---------------------------------------------------------------- participants and tiles

function tileFor(id) {
  return $('grid').querySelector(`.tile[data-participant-id="${CSS.escape(id)}"]`);
}

function initials(name) {
  return (name || '?')
    .trim()
    .split(/\s+/)
    .slice(0, 2)
    .map((w) => w[0])
    .join('')
    .toUpperCase();
}

function createTile(p) {
  const tile = $('tile-template').content.firstElementChild.cloneNode(true);
  tile.dataset.participantId = p.id;
  const self = p.id === app.participantId;
  tile.classList.toggle('self', self);
  const video = tile.querySelector('video');
  video.muted = true; // sound plays from its own element (sound.js), never from a tile
  tile.querySelector('.tile-mute').addEventListener('click', () => {
    const q = app.participants.get(p.id);
    if (!q) return;
    const body =
      q.audio !== false ? { action: 'mute', target: q.id } : { action: 'ask_unmute', target: q.id };
    control(body, q.audio !== false ? null : `Asked ${q.name} to unmute`);
  });
  tile.querySelector('.tile-crisis').addEventListener('click', () => crisisAction(p.id, true));
  if (self) video.classList.add('mirror');
  $('grid').append(tile);
  return tile;
}

export function updateTile(p) {
  const tile = tileFor(p.id) || createTile(p);
  const self = p.id === app.participantId;
  const audioOn = self ? app.micOn && Boolean(app.audioTrack) : p.audio !== false;
  const videoOn = self ? app.camOn && Boolean(app.videoTrack) : p.video !== false;
  const shown = displayName(p);
  tile.querySelector('.tile-name').textContent = self ? `${shown} (you)` : shown;
  tile.querySelector('.hand-badge').hidden = !p.hand;
  const spotlit = shownSpotlight() === p.id;
  tile.querySelector('.spotlight-badge').hidden = !spotlit;
  tile.querySelector('.reconnecting-badge').hidden = !p.reconnecting;
  tile.classList.toggle('reconnecting', Boolean(p.reconnecting));
  tile.classList.toggle('spotlit', spotlit);
  tile.querySelector('.avatar').textContent = initials(p.name);
  const badge = tile.querySelector('.role-badge');
  const leading = leads(p.role);
  badge.hidden = !leading;
  badge.textContent = leading ? roleLabel(p.role) : '';
  tile.querySelector('.mic-state').hidden = audioOn;
  tile.querySelector('.away-badge').hidden = !p.away;
  tile.classList.toggle('away', Boolean(p.away));
  const mute = tile.querySelector('.tile-mute');
  mute.hidden = !leads(app.role) || self || p.role === 'facilitator';
  mute.textContent = audioOn ? 'Mute' : 'Ask to unmute';
  mute.setAttribute('aria-label', `${mute.textContent} ${p.name}`);
  const urgent = tile.querySelector('.tile-crisis');
  urgent.hidden = self || !canCrisis(p);
  urgent.setAttribute('aria-label', `Start a crisis response for ${p.name}`);
  tile.querySelector('.cam-state').hidden = videoOn;
  tile.classList.toggle('video-off', !videoOn);
  tile.classList.toggle('muted', !audioOn);
  tile.setAttribute(
    'aria-label',
    [
      shown,
      self ? '(you)' : '',
      leading ? roleLabel(p.role) : '',
      audioOn ? '' : 'muted',
      videoOn ? '' : 'camera off',
      p.hand ? 'hand raised' : '',
      p.reconnecting ? 'reconnecting' : '',
      spotlit ? 'spotlight' : '',
      p.away ? 'stepped away briefly' : '',
    ]
      .filter(Boolean)
      .join(', '),
  );
  const speaking = app.activeSpeaker === p.id;
  tile.classList.toggle('speaking', speaking);
  tile.dataset.speaking = speaking ? 'true' : 'false';
}

/** Who shares our room: the server shows us the people of our own private talk in it. */
function visibleParticipants() {
  return [...app.participants.values()].filter(
    (p) => p.id === app.participantId || app.room == null || p.room == null || p.room === app.room,
  );
}

export function renderTiles() {
  const keep = new Set(visibleParticipants().map((p) => p.id));
  for (const tile of $('grid').querySelectorAll('.tile')) {
    if (!keep.has(tile.dataset.participantId)) tile.remove();
  }
  // Spotlight first, then self, then facilitators, then by join order.
  const order = visibleParticipants().sort((a, b) => {
    const rank = (p) =>
      p.id === shownSpotlight()
        ? -1
        : p.id === app.participantId
          ? 0
          : p.role === 'participant'
            ? 2
            : 1;
    return rank(a) - rank(b);
  });
  for (const p of order) updateTile(p);
  for (const p of order) $('grid').append(tileFor(p.id)); // keeps DOM order == display order
  $('grid').dataset.count = String(order.length);
  applyPaging();
  renderQualityBadges();
  fitGrid();
  renderMedia();
  reportView();
}

/** Picks the column count that gives the largest 4:3 tiles of the current page that fit the
 * grid without scrolling. */
export function fitGrid() {
  const grid = $('grid');
  const count = grid.querySelectorAll('.tile:not([hidden])').length;
  if (!count || grid.hidden) return;
  // a spotlit tile is 1.6 times as wide: about the room of 2.5 tiles
  const n = count + (grid.querySelector('.tile.spotlit:not([hidden])') ? 2 : 0);
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
  const smallest = Math.min(width, 140); // tiny windows scroll instead
  let tileW = Math.max(best.tileW, smallest);
  grid.style.setProperty('--cols', String(best.cols));
  // a spotlit tile is wider, but never taller than the grid (its top and names stay visible)
  grid.style.setProperty('--max-tile-w', `${Math.floor(Math.max(height, 150) * (4 / 3))}px`);
  // The estimate above is exact for equal tiles; a wider spotlit tile can still wrap a row
  // too many (the last tiles would need scrolling): shrink until everything is in sight.
  for (let tries = 0; tries < 12; tries += 1) {
    grid.style.setProperty('--tile-w', `${tileW}px`);
    if (grid.scrollHeight <= grid.clientHeight + 1 || tileW <= smallest) break;
    tileW = Math.max(smallest, Math.floor(tileW * 0.92));
  }
}

function trackForMid(mid) {
  const pc = app.pcSubscribe;
  if (!pc) return null;
  const t = pc.getTransceivers().find((tr) => tr.mid === String(mid));
  return t ? t.receiver.track : null;
}

function setTileVideo(video, track) {
  const current = video.srcObject ? video.srcObject.getTracks() : [];
  if (track ? current.length === 1 && current[0] === track : !current.length) return;
  video.srcObject = track ? new MediaStream([track]) : null;
  if (track) video.play().catch(() => {}); // muted: autoplay is always allowed
}

/** Points each tile's <video> at the receiver track of that participant's video slot, and
 *  every audio slot at its player (sound.js). */
export function renderMedia() {
  renderSound();
  for (const tile of $('grid').querySelectorAll('.tile')) {
    const id = tile.dataset.participantId;
    const video = tile.querySelector('video');
    if (id === app.participantId) {
      setTileVideo(video, app.videoTrack);
      continue;
    }
    const slot = app.slots.find((s) => s.participant_id === id && s.kind === 'video');
    const track = slot ? trackForMid(slot.mid) : null;
    setTileVideo(video, track);
    tile.classList.toggle('no-video', !track);
    renderVideoNote(tile);
  }
}

export function setActiveSpeaker(id) {
  app.activeSpeaker = id || null;
  for (const tile of $('grid').querySelectorAll('.tile')) {
    const speaking = tile.dataset.participantId === app.activeSpeaker;
    tile.classList.toggle('speaking', speaking);
    tile.dataset.speaking = speaking ? 'true' : 'false';
  }
}

export function showReaction(pid, emoji) {
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
