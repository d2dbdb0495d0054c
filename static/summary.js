// A session's engagement summary for facilitators (docs/summaries.md). The tables carry every
// number; the charts (Chart.js) show the same data and are labelled for screen readers.

const $ = (id) => document.getElementById(id);
const sessionId = decodeURIComponent(location.pathname.split('/')[2] || '');
const API = `/api/sessions/${encodeURIComponent(sessionId)}`;
const REFRESH_MS = 10000;
const LEVELS = ['excellent', 'good', 'poor', 'lost'];
const LEVEL_COLOURS = { excellent: '#2e9e6a', good: '#7fb77e', poor: '#e0a106', lost: '#b42318' };
const PALETTE = ['#2f6b5a', '#1a5fd0', '#a34ca3', '#c45f00', '#3b7f9e', '#7a6a00', '#b42318', '#555c66'];

const charts = {};
let summary = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'text') node.textContent = value;
    else if (key === 'class') node.className = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

const when = (unix) => (unix == null ? '–' : new Date(unix * 1000).toLocaleString([], {
  dateStyle: 'medium', timeStyle: 'short',
}));

function duration(seconds) {
  if (seconds == null) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

const num = (value, digits = 0) => (value == null ? '–' : Number(value).toFixed(digits));

async function load() {
  let response;
  try {
    response = await fetch(API + '/summary', { credentials: 'same-origin' });
  } catch {
    $('status').textContent = 'The server cannot be reached. Try again in a moment.';
    return;
  }
  if (response.status === 401) {
    location.href = `/signin?next=${encodeURIComponent(location.pathname)}`;
    return;
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    $('status').textContent = (body && body.message) || `The server answered ${response.status}.`;
    return;
  }
  summary = body;
  render();
  if (summary.in_progress) setTimeout(load, REFRESH_MS);
}

function render() {
  const s = summary.session;
  document.title = `${s.title} – summary – Circle`;
  $('title').textContent = `${s.title}: session summary`;
  const leaders = (s.facilitators || [])
    .map((f) => (f.credentials ? `${f.name}, ${f.credentials}` : f.name)).join('; ');
  $('facts').textContent = [
    s.started_at ? `Started ${when(s.started_at)}` : 'Not started',
    `lasted ${duration(s.duration_s)}`,
    leaders ? `led by ${leaders}` : '',
    summary.measuring ? '' : 'speaking time was not measured',
  ].filter(Boolean).join(' · ');
  $('progress').hidden = !summary.in_progress;
  $('status').textContent = summary.in_progress
    ? `Last updated ${new Date(summary.generated_at * 1000).toLocaleTimeString()}.` : '';
  $('csv').href = `${API}/summary?format=csv`;
  $('csv').setAttribute('download', `circle-${sessionId}.csv`);
  $('report').hidden = false;
  renderTable();
  renderShare();
  renderTimeline();
  renderQuality();
  renderRooms();
  renderFollows();
}

const COLUMNS = [
  ['Name', (p) => p.name, false],
  ['Role', (p) => p.role, false],
  ['Present', (p) => duration(p.attendance.present_s), true],
  ['Speaking', (p) => (p.speaking.measured ? duration(p.speaking.speaking_s) : 'not measured'), true],
  ['Share %', (p) => (p.speaking.measured ? num(p.speaking.share_pct, 1) : '–'), true],
  ['Turns', (p) => (p.speaking.measured ? num(p.speaking.turns) : '–'), true],
  ['Mean turn', (p) => (p.speaking.measured ? duration(p.speaking.mean_turn_s) : '–'), true],
  ['Longest turn', (p) => (p.speaking.measured ? duration(p.speaking.longest_turn_s) : '–'), true],
  ['Overlaps', (p) => (p.speaking.measured ? num(p.speaking.overlaps) : '–'), true],
  ['Interruptions', (p) => (p.speaking.measured ? num(p.speaking.interruptions) : '–'), true],
  ['Longest silence', (p) => (p.speaking.measured ? duration(p.speaking.longest_silence_s) : '–'), true],
  ['Hands', (p) => num(p.participation.hand_raises), true],
  ['Chat messages', (p) => num(p.participation.chat_messages), true],
  ['Reactions', (p) => num(p.participation.reactions), true],
  ['Help requests', (p) => num(p.participation.help_requests), true],
  ['Muted', (p) => duration(p.attendance.muted_s), true],
  ['Camera on', (p) => duration(p.attendance.camera_on_s), true],
  ['Connection trouble', (p) => troubleText(p.quality), false],
  ['Alerts', (p) => (p.alerts.length ? p.alerts.map((a) => a.kind.replaceAll('_', ' ')).join(', ') : 'none'), false],
];

function troubleText(quality) {
  const parts = [];
  for (const [arrow, link] of [['sending', quality.up], ['receiving', quality.down]]) {
    const bad = (link.poor_s || 0) + (link.lost_s || 0);
    if (bad > 0) parts.push(`${arrow} poor or lost ${duration(bad)}`);
  }
  return parts.join('; ') || 'none';
}

function renderTable() {
  const table = $('people');
  table.tHead.replaceChildren(el('tr', {}, ...COLUMNS.map(([h]) => el('th', { scope: 'col', text: h }))));
  table.tBodies[0].replaceChildren(...summary.participants.map((p) => el('tr', { 'data-participant-id': p.id },
    ...COLUMNS.map(([, value, numeric], i) => (i === 0
      ? el('th', { scope: 'row', text: value(p) })
      : el('td', { class: numeric ? 'num' : '', text: value(p) }))))));
  const b = summary.balance_index;
  $('balance').textContent = b == null ? 'Balance of the conversation: not enough talk to tell.'
    : `Balance of the conversation among participants: ${Math.round(b * 100)} of 100 (100 = everyone spoke equally).`;
}

function chart(id, config, label) {
  if (charts[id]) charts[id].destroy();
  const canvas = $(id);
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  charts[id] = new Chart(canvas, { ...config, options: { animation: false, maintainAspectRatio: false, ...config.options } });
}

function renderShare() {
  const measured = summary.participants.filter((p) => p.speaking.measured);
  const label = measured.map((p) => `${p.name} ${num(p.speaking.share_pct, 1)}%`).join(', ');
  chart('share-chart', {
    type: 'bar',
    data: {
      labels: measured.map((p) => `${p.name} (${num(p.speaking.share_pct, 0)}%)`),
      datasets: [{ label: 'Share of talk (%)', data: measured.map((p) => p.speaking.share_pct || 0), backgroundColor: '#2f6b5a' }],
    },
    options: { indexAxis: 'y', scales: { x: { min: 0, max: 100, title: { display: true, text: '% of all talk' } } } },
  }, `Share of talk: ${label || 'nobody measured'}`);
}

function minutes(unix) {
  const start = summary.session.started_at || 0;
  return Math.max(0, (unix - start) / 60);
}

function renderTimeline() {
  const people = summary.participants;
  const rooms = [...new Set(summary.timeline.map((t) => t.room))];
  const datasets = rooms.map((room, i) => ({
    label: room === 'main' ? 'Main room' : (summary.room_names[room] || room),
    backgroundColor: PALETTE[i % PALETTE.length],
    data: summary.timeline.filter((t) => t.room === room).map((t) => ({
      x: [minutes(t.start), minutes(t.end)],
      y: people.find((p) => p.id === t.participant_id)?.name || t.participant_id,
    })),
  }));
  chart('timeline-chart', {
    type: 'bar',
    data: { labels: people.map((p) => p.name), datasets },
    options: {
      indexAxis: 'y',
      scales: { x: { min: 0, title: { display: true, text: 'minutes from the start' } }, y: { stacked: true } },
      plugins: { legend: { display: true } },
    },
  }, `Who spoke when: ${summary.timeline.length} turns by ${people.filter((p) => (p.speaking.turns || 0) > 0).length} people`);
}

function levelSpans(timeline, end) {
  return timeline.map(([at, level], i) => ({ level, from: at, to: i + 1 < timeline.length ? timeline[i + 1][0] : end }));
}

function renderQuality() {
  const end = summary.session.ended_at || summary.generated_at;
  const lanes = [];
  const bars = Object.fromEntries(LEVELS.map((l) => [l, []]));
  for (const p of summary.participants) {
    for (const [arrow, link] of [['↑', p.quality.up], ['↓', p.quality.down]]) {
      const lane = `${p.name} ${arrow}`;
      lanes.push(lane);
      for (const span of levelSpans(link.timeline, end)) {
        bars[span.level]?.push({ x: [minutes(span.from), minutes(span.to)], y: lane });
      }
    }
  }
  chart('quality-chart', {
    type: 'bar',
    data: {
      labels: lanes,
      datasets: LEVELS.map((level) => ({ label: level, data: bars[level], backgroundColor: LEVEL_COLOURS[level] })),
    },
    options: { indexAxis: 'y', scales: { x: { min: 0, title: { display: true, text: 'minutes from the start' } }, y: { stacked: true } } },
  }, `Connection quality over time; trouble: ${summary.participants.map((p) => `${p.name} ${troubleText(p.quality)}`).join('; ')}`);
}

function renderRooms() {
  const names = (room) => (room === 'main' ? 'Main room' : (summary.room_names[room] || room));
  const rooms = [...new Set(summary.participants.flatMap((p) => p.rooms.map((r) => r.room)))];
  const table = $('rooms');
  table.replaceChildren(table.caption,
    el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'Person' }), ...rooms.map((r) => el('th', { scope: 'col', text: names(r) })))),
    el('tbody', {}, ...summary.participants.map((p) => el('tr', {},
      el('th', { scope: 'row', text: p.name }),
      ...rooms.map((r) => el('td', { class: 'num', text: duration(p.rooms.find((x) => x.room === r)?.seconds ?? null) }))))));
}

function renderFollows() {
  const people = summary.participants;
  const table = $('follows');
  table.replaceChildren(table.caption,
    el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'After ↓ came →' }), ...people.map((p) => el('th', { scope: 'col', text: p.name })))),
    el('tbody', {}, ...people.map((from) => el('tr', {},
      el('th', { scope: 'row', text: from.name }),
      ...people.map((to) => el('td', { class: 'num', text: String(summary.follows[from.id]?.[to.id] || 0) }))))));
}

$('json').addEventListener('click', () => {
  if (!summary) return;
  const url = URL.createObjectURL(new Blob([JSON.stringify(summary, null, 1)], { type: 'application/json' }));
  const link = el('a', { href: url, download: `circle-${sessionId}.json` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
});
$('print').addEventListener('click', () => window.print());
$('delete').addEventListener('click', async () => {
  if (!window.confirm('Delete this session\'s summary and audit log for good?')) return;
  const response = await fetch(API, { method: 'DELETE', credentials: 'same-origin' });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    $('status').textContent = body.message || `The server answered ${response.status}.`;
    return;
  }
  summary = null;
  $('report').hidden = true;
  $('status').textContent = 'This session\'s data was deleted.';
});

load();
