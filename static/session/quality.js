// Connection quality: our own level, leaders' badges and details, video caps, client stats.
import { $ } from '../lib/dom.js';
import { renderRooms } from './rooms.js';
import { app, leads, nameOf } from './state.js';
import { chime, notice } from './ui.js';

// ---------------------------------------------------------------- connection quality

const LEVEL_TEXT = { excellent: 'Excellent', good: 'Good', poor: 'Poor', lost: 'Lost' };
const CLIENT_STATS_MS = 3000;

export const QUALITY_EVENTS = {
  quality: (msg) => {
    // leaders, every 2 s: everyone's links, both directions
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
    notice(
      msg.kind === 'connection_lost'
        ? `${name}'s connection was lost (${way}).`
        : `${name}'s connection has been poor for a while (${way}).`,
      'warn',
      15000,
    );
    chime(2);
  },
};

/** A level in words, with the direction: never colour alone. */
function levelText(level) {
  return level ? LEVEL_TEXT[level] || level : 'measuring…';
}

function renderMyQuality() {
  const q = app.myQuality || {};
  const worst = ['lost', 'poor', 'good', 'excellent'].find((l) => l === q.up || l === q.down);
  const el = $('my-quality');
  el.hidden = !worst;
  el.dataset.level = worst || '';
  el.textContent = worst ? `Your connection: ${levelText(worst)}` : '';
  const hint =
    q.up === 'poor' || q.up === 'lost'
      ? 'Your connection is weak: turning your camera off may help others hear you.'
      : q.down === 'poor' || q.down === 'lost'
        ? 'Your connection is weak: some video is paused so that sound stays clear.'
        : '';
  if (hint && hint !== app.qualityHint) notice(hint, 'warn', 12000);
  app.qualityHint = hint;
}

function qualitySummary(pid) {
  const q = app.quality[pid];
  if (!q) return null;
  return `connection: sending ${levelText(q.up.level).toLowerCase()}, receiving ${levelText(q.down.level).toLowerCase()}`;
}

export function renderQualityBadges() {
  for (const tile of $('grid').querySelectorAll('.tile')) {
    const q = app.quality[tile.dataset.participantId];
    const badge = tile.querySelector('.quality-badge');
    // whose link and which way: "their" is this tile's person, never ours
    const ways = q
      ? [
          ['sending', q.up.level],
          ['receiving', q.down.level],
        ].filter(([, l]) => l === 'poor' || l === 'lost')
      : [];
    badge.hidden = !ways.length;
    badge.textContent = ways.length
      ? `Their connection: ${ways.map(([w, l]) => `${levelText(l).toLowerCase()} ${w}`).join(', ')}`
      : '';
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
  if (client?.frame_width) parts.push(`${client.frame_width}×${client.frame_height}`);
  return parts.join(', ');
}

/** Leaders: each person's row gets both directions and a details popover. */
export function renderQualityRows() {
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
      box.append(
        document.createElement('summary'),
        document.createElement('p'),
        document.createElement('p'),
      );
      li.append(box);
    }
    const worst = ['lost', 'poor', 'good', 'excellent'].find(
      (l) => l === q.up.level || l === q.down.level,
    );
    box.dataset.level = worst || '';
    const [summary, up, down] = box.children;
    const shown = `Connection: ↑ ${levelText(q.up.level)} ↓ ${levelText(q.down.level)}`;
    summary.textContent = shown;
    // the name starts with what is shown (a voice user says what they see), then says it
    summary.setAttribute(
      'aria-label',
      `${shown} (${nameOf(pid)}, ${qualitySummary(pid)}). Details`,
    );
    up.textContent = detailLine('Sending', q.up, null);
    down.textContent = detailLine('Receiving', q.down, q.client);
  }
}

/** The server asks us to send less video while our upstream is poor (and lifts it). */
async function capVideo(cap, maxKbps, maxFps) {
  const pc = app.pcPublish;
  const sender = pc?.getSenders().find((s) => s.track && s.track.kind === 'video');
  if (!sender) return;
  const params = sender.getParameters();
  if (!params.encodings?.length) return;
  params.encodings[0].maxBitrate = cap && maxKbps ? maxKbps * 1000 : 600000;
  params.encodings[0].maxFramerate = cap && maxFps ? maxFps : 20;
  try {
    await sender.setParameters(params);
  } catch (err) {
    console.warn('cap video', err);
  }
}

/** Our own view of the connection (display only on the leaders' side). */
async function sendClientStats() {
  if (app.state !== 'joined' || !app.socket) return;
  const out = {};
  let frames = 0;
  let freezes = 0;
  let lost = 0;
  let jitter = 0;
  let seen = false;
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
  if (seen)
    Object.assign(out, { frames_decoded: frames, freezes, packets_lost: lost, jitter_ms: jitter });
  for (const [k, v] of Object.entries(out)) if (!Number.isFinite(v) || v < 0) delete out[k];
  app.socket.emit('client_stats', out);
}

export function wireQuality() {
  setInterval(() => {
    sendClientStats().catch(() => {});
  }, CLIENT_STATS_MS);
}
