// A session's engagement summary for facilitators (docs/summaries.md). The tables carry every
// number; the charts (Chart.js, global `Chart`) show the same data, write their labels on the
// bars where they fit (never colour alone) and are summarised for screen readers.

import { $, el } from './lib/dom.js';
import { dateTime, duration as durationWords, minSec } from './lib/format.js';
import { chart, charts, fitLanes, levelSpans, timeAxis } from './summary/charts.js';

const sessionId = decodeURIComponent(location.pathname.split('/')[2] || '');
const API = `/api/sessions/${encodeURIComponent(sessionId)}`;
const REFRESH_MS = 10000;
const LEVELS = ['excellent', 'good', 'poor', 'lost'];
// Level colours get darker as quality gets worse; the level's name is written on its bars too.
const LEVEL_STYLE = {
  excellent: { fill: '#1f7a52', text: '#fff' },
  good: { fill: '#9fd3a7', text: '#1f2328' },
  poor: { fill: '#f0b429', text: '#1f2328' },
  lost: { fill: '#8f1d14', text: '#fff' },
};
const ROOM_COLOURS = ['#2f6b5a', '#1a5fd0', '#a34ca3', '#c45f00', '#3b7f9e', '#7a6a00', '#555c66'];
const PRESENT_FILL = '#e4e1db';

let summary = null;
let refreshTimer = null;
let deleted = false;
// While printing without private talks: 1:1 rooms (a leader with one member) are left out of the
// charts and tables that name them. On screen the therapist always sees everything.
let leaveOutPrivate = false;
const PRIVATE_ROOM_PREFIX = 'private-'; // as rooms/model.py names a 1:1 room
const shown = (room) => !(leaveOutPrivate && room.startsWith(PRIVATE_ROOM_PREFIX));

// Dates and times in the viewer's own zone, with the zone named.
const when = (unix) => dateTime(unix);
const zoneName = () => {
  const part = new Intl.DateTimeFormat([], { timeZoneName: 'short' })
    .formatToParts(new Date())
    .find((p) => p.type === 'timeZoneName');
  return part ? part.value : '';
};

// "12 min 30 s"; no-break spaces keep each number with its unit when a narrow column wraps.
const duration = (seconds) => durationWords(seconds, { space: '\u00a0' });

const num = (value, digits = 0) => (value == null ? '–' : Number(value).toFixed(digits));
const roomName = (room) => (room === 'main' ? 'Main room' : summary.room_names?.[room] || room);
// Rooms in a steady order: the main room, then breakouts as the session named them.
function roomOrder(rooms) {
  const known = ['main', ...Object.keys(summary.room_names || {})];
  const rank = (room) => (known.includes(room) ? known.indexOf(room) : known.length);
  return [...new Set(rooms)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(load, REFRESH_MS);
}

async function load() {
  let response;
  try {
    response = await fetch(`${API}/summary`, { credentials: 'same-origin', cache: 'no-store' });
  } catch {
    $('status').textContent = 'The server cannot be reached. Trying again in 10 seconds.';
    if (!summary || summary.in_progress) scheduleRefresh();
    return;
  }
  if (deleted) return;
  if (response.status === 401) {
    location.href = `/signin?next=${encodeURIComponent(location.pathname)}`;
    return;
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    $('status').textContent = body?.message || `The server answered ${response.status}.`;
    if (summary?.in_progress && response.status >= 500) scheduleRefresh();
    return;
  }
  summary = body;
  render();
  if (summary.in_progress) scheduleRefresh();
}

function render() {
  const s = summary.session;
  document.title = `${s.title} – summary – Circle`;
  $('title').textContent = `${s.title}: session summary`;
  const leaders = (s.facilitators || [])
    .map((f) => (f.credentials ? `${f.name}, ${f.credentials}` : f.name))
    .join('; ');
  $('facts').replaceChildren(
    ...[
      s.started_at != null
        ? `Started ${when(s.started_at)} (${zoneName()})`
        : 'Nobody has joined yet',
      `${summary.in_progress ? 'running for' : 'lasted'} ${duration(s.duration_s)}`,
      summary.participants.length === 1 ? '1 person' : `${summary.participants.length} people`,
      leaders ? `led by ${leaders}` : '',
      summary.measuring === false ? 'speaking time was not measured' : '',
    ]
      .filter(Boolean)
      .map((text, i) => el('span', { text: (i ? ' · ' : '') + text })),
  );
  const group = $('group-link');
  group.hidden = !s.group_id;
  if (s.group_id) group.href = `/groups/${encodeURIComponent(s.group_id)}`;
  $('progress').hidden = !summary.in_progress;
  $('updated').textContent = new Date(summary.generated_at * 1000).toLocaleTimeString();
  $('status').textContent = ''; // the badge is not a live region: no announcement every 10 s
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

// ---- the table: the accessible source of truth ----

// [header, text of a participant's value, numeric, a speaking column (blank when not measured)];
// soft hyphens (\u00ad) let a long header word break so that every column fits the card.
const COLUMNS = [
  ['Name', (p) => p.name, false],
  ['Role', (p) => p.role, false],
  ['Present', (p) => duration(p.attendance.present_s), true],
  ['Speaking', (p) => duration(p.speaking.speaking_s), true, true],
  ['Share %', (p) => num(p.speaking.share_pct, 1), true, true],
  ['Turns', (p) => num(p.speaking.turns), true, true],
  ['Mean turn', (p) => duration(p.speaking.mean_turn_s), true, true],
  ['Longest turn', (p) => duration(p.speaking.longest_turn_s), true, true],
  ['Over\u00adlaps', (p) => num(p.speaking.overlaps), true, true],
  ['Inter\u00adrup\u00adtions', (p) => num(p.speaking.interruptions), true, true],
  ['Longest silence', (p) => duration(p.speaking.longest_silence_s), true, true],
  ['Hands raised', (p) => num(p.participation.hand_raises), true],
  ['Chat mes\u00adsages', (p) => num(p.participation.chat_messages), true],
  ['Reac\u00adtions', (p) => num(p.participation.reactions), true],
  ['Help re\u00adquests', (p) => num(p.participation.help_requests), true],
  ['Muted', (p) => duration(p.attendance.muted_s), true],
  ['Camera on', (p) => duration(p.attendance.camera_on_s), true],
  ['Connec\u00adtion trouble', (p) => troubleText(p.quality), false],
  ['Alerts', (p) => alertsText(p), false],
];

// Their speaking numbers can be shown: measured, and their microphone not too noisy to measure.
function speechKnown(p) {
  return p.speaking.measured && !p.speaking.noisy_microphone;
}

function troubleText(quality) {
  const parts = [];
  for (const [direction, link] of [
    ['sending', quality.up],
    ['receiving', quality.down],
  ]) {
    const poor = link.poor_s || 0;
    const lost = link.lost_s || 0;
    if (poor + lost > 0) {
      const what = [poor ? `poor ${duration(poor)}` : '', lost ? `lost ${duration(lost)}` : ''];
      parts.push(`${direction}: ${what.filter(Boolean).join(', ')}`);
    }
  }
  return parts.join('; ') || 'none';
}

function alertsText(p) {
  if (!p.alerts.length) return 'none';
  return p.alerts.map((a) => `${a.kind.replaceAll('_', ' ')} at ${clock(a.at)}`).join(', ');
}

// "12:05" into the session (minutes:seconds from its start).
function clock(unix) {
  return minSec(Math.max(0, Math.round(unix - (summary.session.started_at || unix))));
}

function renderTable() {
  const table = $('people');
  table.tHead.replaceChildren(
    el(
      'tr',
      {},
      ...COLUMNS.map(([h, , numeric]) =>
        el('th', {
          scope: 'col',
          class: numeric ? 'num' : '',
          text: h,
        }),
      ),
    ),
  );
  table.tBodies[0].replaceChildren(
    ...summary.participants.map((p) => {
      const row = el('tr', { 'data-participant-id': p.id });
      COLUMNS.forEach(([, value, numeric, speech], i) => {
        if (i === 0) row.append(el('th', { scope: 'row', text: value(p) }));
        else if (!speech || speechKnown(p))
          row.append(el('td', { class: numeric ? 'num' : 'words', text: value(p) }));
        else if (!COLUMNS[i - 1][3]) {
          // one cell across the speaking columns
          const span = COLUMNS.filter((c) => c[3]).length;
          const text = p.speaking.noisy_microphone
            ? 'Microphone too noisy to measure'
            : 'Not measured';
          row.append(el('td', { class: 'unmeasured', colspan: String(span), text }));
        }
      });
      return row;
    }),
  );
  const b = summary.balance_index;
  $('balance').textContent =
    b == null
      ? 'Balance of the conversation: not enough talk among participants to tell.'
      : `Balance of the conversation among participants: ${Math.round(b * 100)} of 100 (100 = everyone spoke equally).`;
}

// ---- charts ----

function renderShare() {
  const measured = summary.participants.filter(speechKnown);
  const label = measured.map((p) => `${p.name} ${num(p.speaking.share_pct, 1)}%`).join(', ');
  fitLanes('share-chart', measured.length);
  chart(
    'share-chart',
    {
      type: 'bar',
      data: {
        labels: measured.map((p) => p.name),
        datasets: [
          {
            label: 'Share of all talk (%)',
            data: measured.map((p) => p.speaking.share_pct || 0),
            backgroundColor: '#2f6b5a',
            barText: measured.map((p) => `${num(p.speaking.share_pct, 1)}%`),
            barTextOutside: true,
          },
        ],
      },
      options: {
        indexAxis: 'y',
        scales: { x: { min: 0, max: 100, title: { display: true, text: '% of all talk' } } },
        plugins: { legend: { display: false } },
      },
    },
    `Share of talk: ${label || 'nobody was measured'}`,
  );
}

function renderTimeline() {
  const people = summary.participants;
  const axis = timeAxis(summary.session);
  const nameOf = Object.fromEntries(people.map((p) => [p.id, p.name]));
  const rooms = roomOrder(summary.timeline.map((t) => t.room)).filter(shown);
  const several = rooms.length > 1;
  const turns = rooms.map((room, i) => ({
    label: `Speaking in ${roomName(room)}`,
    backgroundColor: ROOM_COLOURS[i % ROOM_COLOURS.length],
    barPercentage: 0.6,
    order: 0,
    barText: several ? roomName(room) : '',
    data: summary.timeline
      .filter((t) => t.room === room)
      .map((t) => ({
        x: [axis.at(t.start), axis.at(t.end)],
        y: nameOf[t.participant_id] || t.participant_id,
      })),
  }));
  const present = {
    label: 'Present',
    backgroundColor: PRESENT_FILL,
    barPercentage: 0.95,
    order: 10, // drawn first: behind the turns
    data: people.flatMap((p) =>
      p.attendance.spans.map(([start, end]) => ({
        x: [axis.at(start), axis.at(end ?? axis.end)],
        y: p.name,
      })),
    ),
  };
  fitLanes('timeline-chart', people.length);
  const talkers = people.filter((p) => speechKnown(p) && p.speaking.turns > 0);
  chart(
    'timeline-chart',
    {
      type: 'bar',
      data: { labels: people.map((p) => p.name), datasets: [...turns, present] },
      options: {
        indexAxis: 'y',
        scales: { x: axis.scale, y: { stacked: true } },
        plugins: { legend: { display: true } },
      },
    },
    `Who spoke when: ${plural(summary.timeline.length, 'turn')}; ${talkers.map((p) => `${p.name} ${plural(p.speaking.turns, 'turn')}`).join(', ') || 'nobody spoke'}` +
      (several ? `; rooms: ${rooms.map(roomName).join(', ')}` : ''),
  );
}

function renderQuality() {
  const axis = timeAxis(summary.session);
  const lanes = [];
  const unmeasured = [];
  const bars = Object.fromEntries(LEVELS.map((l) => [l, []]));
  for (const p of summary.participants) {
    const until = p.attendance.left_at ?? axis.end;
    const present = p.attendance.spans.length
      ? p.attendance.spans.map(([from, to]) => [from, to ?? axis.end])
      : [[-Infinity, Infinity]];
    let any = false;
    for (const [arrow, link] of [
      ['sending', p.quality.up],
      ['receiving', p.quality.down],
    ]) {
      if (!link.timeline.length) continue;
      any = true;
      const lane = `${p.name} ${arrow}`;
      lanes.push(lane);
      for (const span of levelSpans(link.timeline, until)) {
        for (const [from, to] of present) {
          // only while they were there
          const a = Math.max(span.from, from);
          const b = Math.min(span.to, to);
          if (b > a) bars[span.level]?.push({ x: [axis.at(a), axis.at(b)], y: lane });
        }
      }
    }
    if (!any) unmeasured.push(p.name);
  }
  $('quality-missing').textContent = unmeasured.length
    ? `No connection measurements for ${unmeasured.join(', ')} (no media sent or received).`
    : '';
  $('quality-chart').parentElement.hidden = !lanes.length;
  fitLanes('quality-chart', lanes.length);
  chart(
    'quality-chart',
    {
      type: 'bar',
      data: {
        labels: lanes,
        datasets: LEVELS.map((level) => ({
          label: level,
          data: bars[level],
          backgroundColor: LEVEL_STYLE[level].fill,
          borderColor: '#1f2328',
          borderWidth: level === 'lost' ? 1 : 0,
          barText: level,
          barTextColour: LEVEL_STYLE[level].text,
        })),
      },
      options: { indexAxis: 'y', scales: { x: axis.scale, y: { stacked: true } } },
    },
    `Connection quality over time. Poor or lost: ${summary.participants.map((p) => `${p.name} ${troubleText(p.quality)}`).join('; ')}`,
  );
}

// ---- small tables ----

// A table with a header row and a header cell on each row: [row header, its cells] (keeps the caption).
function crossTable(id, corner, columns, rows) {
  const table = $(id);
  table.replaceChildren(
    table.caption,
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        corner,
        ...columns.map((text) => el('th', { scope: 'col', class: 'num', text })),
      ),
    ),
    el(
      'tbody',
      {},
      ...rows.map(([head, cells]) =>
        el('tr', {}, el('th', { scope: 'row', text: head }), ...cells),
      ),
    ),
  );
}

function renderRooms() {
  const rooms = roomOrder(summary.participants.flatMap((p) => p.rooms.map((r) => r.room))).filter(
    shown,
  );
  crossTable(
    'rooms',
    el('th', { scope: 'col', text: 'Person' }),
    rooms.map(roomName),
    summary.participants.map((p) => [
      p.name,
      rooms.map((r) =>
        el('td', {
          class: 'num',
          text: duration(p.rooms.find((x) => x.room === r)?.seconds ?? null),
        }),
      ),
    ]),
  );
}

function renderFollows() {
  const people = summary.participants;
  crossTable(
    'follows',
    el('td', {}),
    people.map((p) => `then ${p.name}`),
    people.map((from) => [
      `After ${from.name}`,
      people.map((to) => {
        const n = summary.follows?.[from.id]?.[to.id] || 0;
        return el('td', { class: n ? 'num strong' : 'num', text: String(n) });
      }),
    ]),
  );
}

// ---- buttons ----

$('json').addEventListener('click', () => {
  if (!summary) return;
  const url = URL.createObjectURL(
    new Blob([JSON.stringify(summary, null, 1)], { type: 'application/json' }),
  );
  const link = el('a', { href: url, download: `circle-${sessionId}.json` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
});
$('print').addEventListener('click', () => window.print());
$('delete').addEventListener('click', async () => {
  if (
    !window.confirm("Delete this session's summary and audit log for good? This cannot be undone.")
  )
    return;
  let response;
  try {
    response = await fetch(API, {
      method: 'DELETE',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
    });
  } catch {
    $('status').textContent = 'The server cannot be reached; nothing was deleted.';
    return;
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    $('status').textContent = body.message || `The server answered ${response.status}.`;
    return;
  }
  deleted = true;
  clearTimeout(refreshTimer);
  summary = null;
  for (const c of Object.values(charts)) c.destroy();
  $('report').hidden = true;
  $('progress').hidden = true;
  $('actions').hidden = true;
  $('status').textContent = "This session's data was deleted.";
});

// Whether printing includes private talks: the therapist's choice, off unless ticked; the page
// says which before printing, and the printout says it too.
function sayPrintChoice() {
  const include = $('print-private').checked;
  const what = include ? 'includes' : 'leaves out';
  $('print-says').textContent = `Printing ${what} private talks (1:1 rooms).`;
  $('printed-private').textContent =
    `Private talks (1:1 rooms) are ${include ? 'included in' : 'left out of'} this printout.`;
}
$('print-private').addEventListener('change', sayPrintChoice);
sayPrintChoice();

// Printing: private talks as chosen, and charts follow the page's width (and again afterwards).
function printing(now) {
  leaveOutPrivate = now && !$('print-private').checked;
  if (summary) {
    renderTimeline();
    renderRooms();
  }
  for (const c of Object.values(charts)) c.resize();
}
window.addEventListener('beforeprint', () => printing(true));
window.addEventListener('afterprint', () => printing(false));

load();
