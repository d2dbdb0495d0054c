// Small page helpers: which screen shows, the status line, notices and the chime.
import { $, show } from '../lib/dom.js';

export function showScreen(id) {
  for (const s of ['fatal', 'prejoin', 'waiting', 'insession', 'ended', 'left']) show(s, s === id);
  // In a session, notices take their own row above the video, so they never cover a control
  // (a bar's "Return to the group", a row of the People panel, the phone's toolbar).
  const notices = $('notices');
  const home = id === 'insession' ? $('session-notices') : document.body;
  if (notices.parentElement !== home) home.append(notices);
  notices.classList.toggle('in-flow', id === 'insession');
}

const NOTICES_SHOWN_MAX = 3; // the newest; older ones go (a dismissed notice is gone anyway)

export function setStatus(text) {
  $('conn-status').textContent = text || '';
}

export function notice(text, kind = 'info', ms = 6000) {
  const el = document.createElement('div');
  el.className = `notice ${kind}${ms ? '' : ' keep'}`; // kept: until acted on or dismissed
  el.textContent = text;
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'notice-close';
  close.textContent = '×';
  close.setAttribute('aria-label', 'Dismiss message');
  close.addEventListener('click', () => el.remove());
  el.append(close);
  $('notices').append(el);
  const shown = $('notices').querySelectorAll('.notice:not(.keep)');
  for (const old of [...shown].slice(0, Math.max(0, shown.length - NOTICES_SHOWN_MAX))) {
    old.remove();
  }
  if (ms) setTimeout(() => el.remove(), ms);
  return el;
}

/** A short, soft chime (Web Audio: no file to fetch) for knocks and help requests. */
export function chime(notes = 2) {
  try {
    chime.ctx ||= new AudioContext();
    const ctx = chime.ctx;
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
  } catch {
    /* no audio output: the banner still shows */
  }
}
