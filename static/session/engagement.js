// Leaders: speaking time, balance and alerts (the engagement tab).
import { $ } from '../lib/dom.js';
import { liveDuration } from '../lib/format.js';
import { control } from './network.js';
import { app, leads, nameOf } from './state.js';
import { chime, notice } from './ui.js';

// ---------------------------------------------------------------- engagement (leaders)

export const ENGAGEMENT_EVENTS = {
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

/** The speaking marks react at once to `speaking` events (the table refreshes every second). */
function renderSpeakingMarks() {
  for (const row of $('engagement-rows').querySelectorAll('tr[data-participant-id]')) {
    const speaking = app.speakingNow.has(row.dataset.participantId);
    row.dataset.speaking = String(speaking);
    row.querySelector('.speaking-mark').textContent = speaking ? 'Speaking' : '';
  }
}

export function renderEngagement() {
  const report = app.engagement;
  if (!leads(app.role) || !report) return;
  const session = report.session || {};
  const balance = session.balance_index;
  $('balance').textContent = !report.measuring
    ? 'Speaking time is not being measured in this session.'
    : balance == null
      ? 'Balance of the conversation: not enough talk yet.'
      : `Balance of the conversation: ${Math.round(balance * 100)} of 100 (100 = everyone equally).`;
  $('alerts-list').replaceChildren(
    ...(report.alerts || []).map((alert) => {
      const li = document.createElement('li');
      li.textContent = alertText(alert);
      return li;
    }),
  );
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
      if (!m.measured || m.noisy_microphone) {
        // their "speech" stands too little above their microphone's noise to be counted
        share.textContent = m.measured ? 'microphone too noisy to measure' : 'not measured';
        share.colSpan = 3;
        tr.append(who, share);
        return tr;
      }
      const pct = m.share_pct ?? 0;
      const bar = document.createElement('span');
      bar.className = 'share-bar';
      bar.style.setProperty('--share', `${pct}%`);
      bar.setAttribute('aria-hidden', 'true');
      share.append(
        bar,
        ` ${Math.round(pct)}% (${liveDuration(m.speaking_s)}; last 10 min ${Math.round(m.recent_share_pct ?? 0)}%)`,
      );
      turns.textContent = String(m.turns);
      silent.textContent = m.speaking ? '–' : liveDuration(m.current_silence_s);
      tr.append(who, share, turns, silent);
      return tr;
    });
  $('engagement-rows').replaceChildren(...rows);
  renderSpeakingMarks();
  const settings = report.settings || {};
  $('set-measuring').checked = settings.measuring !== false;
  $('set-alerts').checked = settings.enabled !== false;
  for (const [id, key] of [
    ['set-dominance', 'dominance_share_pct'],
    ['set-silence', 'silence_min'],
  ]) {
    // a field being edited, or edited and not saved yet, keeps what was typed
    const editing = document.activeElement === $(id) || $(id).dataset.edited === 'true';
    if (!editing && settings[key] != null) $(id).value = settings[key];
  }
}

export function wireEngagement() {
  $('measure-me').addEventListener('change', (e) =>
    control(
      { action: 'engagement_opt_out', opted_out: !e.target.checked },
      e.target.checked
        ? 'Your speaking time is measured again.'
        : 'Your speaking time is no longer measured.',
    ),
  );
  $('set-measuring').addEventListener('change', (e) =>
    control({ action: 'engagement_settings', measuring: e.target.checked }),
  );
  $('set-alerts').addEventListener('change', (e) =>
    control({ action: 'engagement_settings', alerts_enabled: e.target.checked }),
  );
  const fields = ['set-dominance', 'set-silence'];
  for (const id of fields) {
    $(id).addEventListener('input', () => {
      $(id).dataset.edited = 'true';
    });
  }
  $('alert-settings').addEventListener('submit', async (e) => {
    e.preventDefault();
    const saved = await control(
      {
        action: 'engagement_settings',
        dominance_share_pct: Number($('set-dominance').value),
        silence_min: Number($('set-silence').value),
      },
      'Alert settings saved',
    );
    if (saved) for (const id of fields) delete $(id).dataset.edited;
  });
}
