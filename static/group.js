// A group's members across its sessions: sparklines (Chart.js, global `Chart`) with the latest
// values written out, so a facilitator sees who is withdrawing or dominating over weeks
// (docs/summaries.md). The table's text carries the numbers; the lines show their shape.

import { $, el } from './lib/dom.js';
import { dateTime, duration } from './lib/format.js';

const groupId = decodeURIComponent(location.pathname.split('/')[2] || '');

const orNull = (value, f) => (value == null ? null : f(value));
// "12 min": seconds only under 10 minutes.
const inMinutes = (v) => duration(v * 60, { secondsBelow: 10 });
// [column title, the value of one session's point (null: a gap), the text of a value]. Lines
// are in minutes; a missed session is a zero for time present and a gap for the rest.
const SERIES = [
  ['Time present', (pt) => (pt.attended ? orNull(pt.present_s, (s) => s / 60) : 0), inMinutes],
  [
    'Share of talk',
    (pt) => (pt.attended ? (pt.share_pct ?? null) : null),
    (v) => `${Math.round(v)}%`,
  ],
  ['Turns', (pt) => (pt.attended ? (pt.turns ?? null) : null), (v) => `${Math.round(v)}`],
  [
    'Longest silence',
    (pt) => (pt.attended ? orNull(pt.longest_silence_s, (s) => s / 60) : null),
    inMinutes,
  ],
  [
    'Connection trouble',
    (pt) => (pt.attended ? orNull(pt.poor_connection_s, (s) => s / 60) : null),
    inMinutes,
  ],
];

const when = (unix) => dateTime(unix, 'not started');

// Charts are drawn once their canvases are in the page (so they have a size).
const drawLater = [];

// A tiny line: no axes, no legend; one point per session, gaps where there is no value.
function sparkline(name, title, points, values, format) {
  const canvas = el('canvas');
  const say = (i) =>
    !points[i].attended ? 'missed' : values[i] == null ? 'not measured' : format(values[i]);
  const said = points.map((pt, i) => `${pt.title}: ${say(i)}`);
  canvas.setAttribute('role', 'img');
  canvas.setAttribute(
    'aria-label',
    `${name}, ${title.toLowerCase()} by session, oldest first: ${said.join('; ')}`,
  );
  const box = el('div', { class: 'spark' }, canvas);
  drawLater.push(
    () =>
      new Chart(canvas, {
        type: 'line',
        data: {
          labels: points.map((pt) => `${pt.title} (${when(pt.started_at)})`),
          datasets: [
            {
              data: values,
              borderColor: '#2f6b5a',
              backgroundColor: '#2f6b5a',
              pointBackgroundColor: points.map((pt) => (pt.attended ? '#2f6b5a' : '#fff')), // hollow: missed
              pointBorderColor: '#2f6b5a',
              borderWidth: 2,
              pointRadius: values.length > 12 ? 0 : 2.5,
              pointHoverRadius: 4,
              spanGaps: false,
              tension: 0,
            },
          ],
        },
        options: {
          animation: false,
          maintainAspectRatio: false,
          layout: { padding: 4 },
          plugins: {
            legend: { display: false },
            tooltip: { callbacks: { label: (item) => say(item.dataIndex) } },
          },
          scales: { x: { display: false }, y: { display: false, beginAtZero: true, grace: '5%' } },
        },
      }),
  );
  // The words: the latest session they came to, and the one before (a zero for a missed
  // session is on the line, not in the words; the row says when they missed the latest).
  const known = values.map((v, i) => [v, points[i]]).filter(([v, pt]) => v != null && pt.attended);
  let text = 'no data';
  if (known.length) {
    const [latest] = known[known.length - 1];
    text = `latest ${format(latest)}`;
    if (known.length > 1) text += ` (before: ${format(known[known.length - 2][0])})`;
  }
  return el('td', {}, box, el('p', { class: 'spark-value', text }));
}

async function load() {
  const response = await fetch(`/api/groups/${encodeURIComponent(groupId)}/trends`, {
    credentials: 'same-origin',
    cache: 'no-store',
  }).catch(() => null);
  if (!response) {
    $('status').textContent = 'The server cannot be reached. Try again in a moment.';
    return;
  }
  if (response.status === 401) {
    location.href = `/signin?next=${encodeURIComponent(location.pathname)}`;
    return;
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    $('status').textContent = data?.message || `The server answered ${response.status}.`;
    return;
  }
  document.title = `${data.group.name} – trends – Circle`;
  $('title').textContent = `${data.group.name}: trends across sessions`;
  const n = data.sessions.length;
  const m = data.participants.length;
  $('status').textContent =
    `${n} session${n === 1 ? '' : 's'}; ${m} member${m === 1 ? '' : 's'} with a personal invite` +
    ' (everyone invited, whether they came or not).';

  $('sessions').replaceChildren(
    ...data.sessions.map((s) =>
      el(
        'li',
        {},
        el('a', { href: `/sessions/${encodeURIComponent(s.session_id)}/summary`, text: s.title }),
        ` · ${when(s.started_at)}`,
        ...(s.in_progress
          ? [' ', el('span', { class: 'badge-progress small', text: 'in progress' })]
          : []),
      ),
    ),
  );
  if (!n)
    $('sessions').replaceChildren(
      el('li', { text: 'No session of this group has a summary yet.' }),
    );

  const table = $('trends');
  table.tHead.replaceChildren(
    el(
      'tr',
      {},
      el('th', { scope: 'col', text: 'Member' }),
      ...SERIES.map(([title]) => el('th', { scope: 'col', text: title })),
    ),
  );
  table.tBodies[0].replaceChildren(
    ...data.participants.map((person) => {
      const attended = person.sessions.filter((pt) => pt.attended).length;
      const last = person.sessions[person.sessions.length - 1];
      // a member who never came has no name of their own yet: the invite's label
      const name = person.name ?? person.label;
      const flag = !attended ? 'never came' : last && !last.attended ? 'missed the latest' : '';
      const row = el(
        'tr',
        { class: 'member', 'data-invite-id': person.invite_id },
        el(
          'th',
          { scope: 'row' },
          el('strong', { text: name }),
          ...(person.label && person.label !== name
            ? [el('br'), el('span', { class: 'invite-label', text: `invite: ${person.label}` })]
            : []),
          el('br'),
          el('span', {
            class: 'spark-value',
            text: `came to ${attended} of ${person.sessions.length}`,
          }),
          ...(flag ? [el('br'), el('span', { class: 'flag', text: flag })] : []),
        ),
      );
      for (const [title, pick, format] of SERIES) {
        row.append(sparkline(name, title, person.sessions, person.sessions.map(pick), format));
      }
      return row;
    }),
  );
  table.hidden = !m;
  $('no-members').hidden = m > 0;
  $('report').hidden = false;
  for (const draw of drawLater.splice(0)) draw();
}

load();
