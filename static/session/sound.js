// Everyone we must hear plays from an <audio> element of its own, one per audio slot of the
// subscribe connection: sound never waits for a tile to be drawn (a person in our private talk,
// a tile on another page of the grid, one hidden by the layout), and tiles play video only.
import { $, show } from '../lib/dom.js';
import { app } from './state.js';

function player(mid) {
  const box = $('sounds');
  let el = box.querySelector(`audio[data-mid="${CSS.escape(mid)}"]`);
  if (!el) {
    el = document.createElement('audio');
    el.dataset.mid = mid;
    el.autoplay = true;
    box.append(el);
  }
  return el;
}

export function play(el) {
  const started = el.play();
  started?.catch?.((err) => {
    if (err && err.name === 'NotAllowedError') {
      app.soundBlocked = true;
      show('sound-button', true);
    }
  });
}

/** One playing element per audio receiver of the current subscribe connection, labelled with
 *  whose sound the server sends on it now (from the slot map). */
export function renderSound() {
  const pc = app.pcSubscribe;
  const receivers = new Map();
  for (const t of pc ? pc.getTransceivers() : []) {
    if (t.mid !== null && t.receiver.track.kind === 'audio') receivers.set(t.mid, t.receiver.track);
  }
  for (const el of $('sounds').querySelectorAll('audio')) {
    if (!receivers.has(el.dataset.mid)) {
      el.srcObject = null;
      el.remove();
    }
  }
  for (const [mid, track] of receivers) {
    const el = player(mid);
    const slot = app.slots.find((s) => s.kind === 'audio' && String(s.mid) === mid);
    el.dataset.participantId = slot?.participant_id || '';
    if (!el.srcObject?.getTracks().includes(track)) {
      el.srcObject = new MediaStream([track]);
    }
    if (el.paused && !app.soundBlocked) play(el);
  }
}

/** After a click (the browser allows sound then): start every player again. */
export function resumeSound() {
  app.soundBlocked = false;
  show('sound-button', false);
  for (const el of $('sounds').querySelectorAll('audio')) play(el);
}
