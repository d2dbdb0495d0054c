// The pre-join and waiting screens: who leads and when it starts (POST /api/link, what a link
// holder may know), a leader's own name, and the device picker with a microphone level meter.
import { $, show } from '../lib/dom.js';
import { dateTime } from '../lib/format.js';
import { showSafetyCheck } from './crisis.js';
import { startPreview } from './media.js';
import { moveTo } from './network.js';
import { app } from './state.js';

/** "Led by Dana Kim, LCSW · starts 7:00 PM (your time)" */
export function aboutLine(about) {
  const parts = [];
  if (about.leader) {
    const { name, credentials } = about.leader;
    parts.push(`Led by ${credentials ? `${name}, ${credentials}` : name}`);
  }
  if (about.scheduled_start) {
    const start = new Date(about.scheduled_start);
    if (!Number.isNaN(start.getTime())) {
      const sameDay = start.toDateString() === new Date().toDateString();
      const when = sameDay
        ? start.toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' })
        : dateTime(start.getTime() / 1000);
      parts.push(`starts ${when} (your time)`);
    }
  }
  return parts.join(' · ');
}

/** A leader's pre-join screen: their name comes from their account, and their speaking time is
 *  not what the measurement is for: the participant's words are not shown to them. */
function leaderWords() {
  const leading = ['facilitator', 'cofacilitator'].includes(app.tokenClaims?.role);
  if (!leading) return;
  $('name-help').textContent = 'This is how the group will see you.';
  show('measure-note', false);
  show('measure-opt-out-row', false);
}

export async function loadAbout() {
  let about;
  try {
    const res = await fetch('/api/link', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: app.token }),
    });
    if (!res.ok) return;
    about = await res.json();
  } catch {
    return; // the join itself will say what is wrong
  }
  if (
    typeof about.node === 'string' &&
    !app.moved &&
    new URL(about.node).origin !== location.origin
  ) {
    // the session runs on another node of the cluster: its pre-join screen, before any answer
    moveTo(about.node);
    return;
  }
  showSafetyCheck(about);
  leaderWords();
  const line = aboutLine(about);
  for (const id of ['prejoin-about', 'waiting-about']) {
    $(id).textContent = line;
    show(id, Boolean(line));
  }
  if (about.your_name && !$('name-input').value) $('name-input').value = about.your_name;
}

// ---------------------------------------------------------------- devices and the level meter

async function listDevices() {
  if (!navigator.mediaDevices?.enumerateDevices) return;
  const devices = await navigator.mediaDevices.enumerateDevices();
  for (const [kind, id, track] of [
    ['videoinput', 'camera-select', app.videoTrack],
    ['audioinput', 'mic-select', app.audioTrack],
  ]) {
    const found = devices.filter((d) => d.kind === kind);
    const current = track?.getSettings().deviceId;
    $(id).replaceChildren(
      ...found.map((d, i) => new Option(d.label || `Device ${i + 1}`, d.deviceId)),
    );
    if (current) $(id).value = current;
    $(id).disabled = found.length < 2;
  }
}

let meter = null;

function watchLevel() {
  if (meter) meter.stop();
  meter = null;
  if (!app.audioTrack) {
    $('mic-level').value = 0;
    return;
  }
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 512;
  ctx.createMediaStreamSource(new MediaStream([app.audioTrack])).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const timer = setInterval(() => {
    if (app.state !== 'prejoin') {
      meter?.stop();
      return;
    }
    analyser.getFloatTimeDomainData(samples);
    let peak = 0;
    for (const v of samples) peak = Math.max(peak, Math.abs(v));
    $('mic-level').value = Math.min(1, peak * 2);
  }, 100);
  meter = {
    stop() {
      clearInterval(timer);
      ctx.close().catch(() => {});
    },
  };
}

export function wirePrejoin() {
  document.addEventListener('circle:preview', () => {
    listDevices().catch(() => {});
    watchLevel();
  });
  const pick = () => {
    app.previewPromise = startPreview({
      camera: $('camera-select').value || null,
      mic: $('mic-select').value || null,
    });
  };
  $('camera-select').addEventListener('change', pick);
  $('mic-select').addEventListener('change', pick);
}
