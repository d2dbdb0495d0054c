// Why a tile shows no moving picture, in words on the tile, naming whose link is weak: a
// frozen or black face must never be left for the group (or a therapist) to interpret.
import { $ } from '../lib/dom.js';
import { app, leads } from './state.js';

const weak = (level) => level === 'poor' || level === 'lost';

function videoTrack(tile) {
  const stream = tile.querySelector('video').srcObject;
  return stream ? stream.getVideoTracks()[0] || null : null;
}

/** The reason this tile's video is paused or frozen, or '' when it should be moving. */
export function videoNoteFor(tile) {
  const id = tile.dataset.participantId;
  const p = app.participants.get(id);
  if (!p || id === app.participantId || p.video === false || p.away) return '';
  const name = p.name || 'their';
  // The server keeps only the spotlight's and the speaker's video while our download is poor,
  // and sends only the video our link's estimated bandwidth carries after everyone's sound.
  const held = id !== app.spotlight && id !== app.activeSpeaker;
  if ((weak(app.myQuality?.down) && held) || app.heldBack.has(id)) {
    return 'Video paused to keep sound clear — your connection';
  }
  // Not forwarded to us at all (they are in another room): the avatar shows, and no reason is
  // given that would point at them.
  if (!app.slots.some((s) => s.participant_id === id && s.kind === 'video')) return '';
  const theirs = app.quality[id];
  if (leads(app.role) && theirs && weak(theirs.up.level)) {
    return `Video may freeze — ${name}'s connection is weak`;
  }
  const track = videoTrack(tile);
  if (app.pcSubscribe && (!track || track.muted)) {
    return weak(app.myQuality?.down)
      ? 'Video paused — your connection'
      : `Video paused — no picture is arriving from ${name}`;
  }
  return '';
}

export function renderVideoNote(tile) {
  const note = tile.querySelector('.video-note');
  const text = videoNoteFor(tile);
  note.hidden = !text;
  note.textContent = text;
  tile.classList.toggle('video-paused', Boolean(text));
}

export function renderVideoNotes() {
  for (const tile of $('grid').querySelectorAll('.tile')) renderVideoNote(tile);
}

export function wireVideoNotes() {
  setInterval(renderVideoNotes, 1500);
}
