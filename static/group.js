// A group's members across its sessions: sparklines with the latest values in words, so a
// facilitator sees who is withdrawing or dominating over weeks (docs/summaries.md).

const $ = (id) => document.getElementById(id);
const groupId = decodeURIComponent(location.pathname.split('/')[2] || '');

const SERIES = [
  ['Minutes present', (pt) => (pt.attended ? pt.present_s / 60 : 0), (v) => `${Math.round(v)} min`],
  ['Share of talk %', (pt) => (pt.attended ? pt.share_pct : null), (v) => `${Math.round(v)}%`],
  ['Turns', (pt) => (pt.attended ? pt.turns : null), (v) => `${Math.round(v)}`],
  ['Longest silence (min)', (pt) => (pt.attended ? pt.longest_silence_s / 60 : null), (v) => `${Math.round(v)} min`],
  ['Connection trouble (min)', (pt) => (pt.attended ? pt.poor_connection_s / 60 : null), (v) => `${v.toFixed(1)} min`],
];

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'text') node.textContent = value;
    else if (key === 'class') node.className = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

const when = (unix) => (unix == null ? 'not started'
  : new Date(unix * 1000).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' }));

function sparkline(name, title, values, format) {
  const canvas = el('canvas');
  const shown = values.map((v) => (v == null ? 'missed' : format(v))).join(', ');
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `${name}, ${title} by session: ${shown}`);
  const box = el('div', { class: 'spark' }, canvas);
  new Chart(canvas, {
    type: 'line',
    data: { labels: values.map((_, i) => i + 1), datasets: [{ data: values, borderColor: '#2f6b5a', pointRadius: 2, spanGaps: false, borderWidth: 2 }] },
    options: {
      animation: false, maintainAspectRatio: false,
      plugins: { legend: { display: false }, tooltip: { enabled: true } },
      scales: { x: { display: false }, y: { display: false, beginAtZero: true } },
    },
  });
  const latest = [...values].reverse().find((v) => v != null);
  return el('div', {}, box, el('p', { class: 'spark-value', text: latest == null ? 'no data' : `latest ${format(latest)}` }));
}

async function load() {
  const response = await fetch(`/api/groups/${encodeURIComponent(groupId)}/trends`, { credentials: 'same-origin' })
    .catch(() => null);
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
    $('status').textContent = (data && data.message) || `The server answered ${response.status}.`;
    return;
  }
  document.title = `${data.group.name} – trends – Circle`;
  $('title').textContent = `${data.group.name}: trends across sessions`;
  $('status').textContent = `${data.sessions.length} sessions, ${data.participants.length} members with a personal invite.`;
  $('sessions').replaceChildren(...data.sessions.map((s) => el('li', {},
    el('a', { href: `/sessions/${encodeURIComponent(s.session_id)}/summary`, text: s.title }),
    ` · ${when(s.started_at)}${s.in_progress ? ' · in progress' : ''}`)));
  const grid = $('trends');
  grid.replaceChildren(el('div', { class: 'head', text: 'Member' }), ...SERIES.map(([title]) => el('div', { class: 'head', text: title })));
  for (const person of data.participants) {
    const attended = person.sessions.filter((pt) => pt.attended).length;
    grid.append(el('div', { 'data-invite-id': person.invite_id, class: 'member' },
      el('strong', { text: person.name }), el('br'), `${attended} of ${person.sessions.length} sessions`));
    for (const [title, pick, format] of SERIES) {
      grid.append(sparkline(person.name, title, person.sessions.map(pick), format));
    }
  }
  if (!data.participants.length) grid.append(el('p', { text: 'No member with a personal invite has joined yet.' }));
  $('report').hidden = false;
}

load();
