// Facilitator console: profile, groups and personal invites, new sessions and their links,
// the sessions list and each session's audit log. Plain DOM; every text from the server goes in
// through textContent or a property, never as HTML.

const SIGN_IN_URL = "/signin?next=/console";
const AUDIT_LIMIT = 200;
const COPIED_SHOWN_MS = 5000;

const $ = (id) => document.getElementById(id);

const state = {
  me: null,
  groups: [],
  invites: new Map(), // group id -> invites (revoked ones included)
  sessions: [],
  created: null, // the session made last with the form, shown with its links
  openLinks: new Set(), // session ids whose links are shown in the list
  openAudit: new Set(), // session ids whose audit log is shown
};

let uid = 0;
const nextId = (prefix) => `${prefix}-${++uid}`;

// ------------------------------------------------------------------ server

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached. Check your connection and try again.");
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message = (data && data.message) || `The server answered ${response.status}.`;
    throw new ApiError(response.status, (data && data.error) || "error", message);
  }
  return data;
}

function showSignedOut() {
  $("signed-out").hidden = false;
  $("page-status").textContent = "You are signed out. Sign in again to continue.";
}

// Show a failed request next to the form (or list) that made it.
function report(error, where) {
  if (error instanceof ApiError && error.status === 401) {
    showSignedOut();
    where.textContent = "You are signed out: sign in again, then retry.";
    return;
  }
  where.textContent = error instanceof ApiError ? error.message : `Something went wrong: ${error}`;
}

// ------------------------------------------------------------------ formatting

const DATE_TIME = {
  weekday: "short",
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "numeric",
  minute: "2-digit",
  timeZoneName: "short",
};

function localTime(date) {
  return date.toLocaleString(undefined, DATE_TIME);
}

function fromUnix(seconds) {
  return new Date(seconds * 1000);
}

function pad(n, width = 2) {
  return String(n).padStart(width, "0");
}

// "2026-12-01T18:00" from <input type=datetime-local> -> "2026-12-01T18:00:00-05:00", using the
// browser's own offset on that date (so summer and winter time come out right).
export function localInputToIso(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(value);
  if (!m) return null;
  const d = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
  if (Number.isNaN(d.getTime())) return null;
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const abs = Math.abs(offset);
  return (
    `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
    `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (typeof value === "boolean") {
      if (key in node) node[key] = value;
      else if (value) node.setAttribute(key, "");
    } else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child);
  }
  return node;
}

// Text for screen readers only: tells identical buttons apart ("Copy" which link).
const srOnly = (text) => el("span", { class: "visually-hidden", text });

function timeElement(date) {
  return el("time", { datetime: date.toISOString(), text: localTime(date) });
}

// ------------------------------------------------------------------ header and profile

function showMe(me) {
  state.me = me;
  $("me-name").textContent = me.display_name;
  $("me-credentials").textContent = me.credentials ? `, ${me.credentials}` : "";
  $("me-summary").hidden = false;
  $("signout").hidden = false;
}

$("signout").addEventListener("click", async () => {
  try {
    await api("POST", "/api/auth/signout");
  } catch (error) {
    report(error, $("page-status"));
    return;
  }
  location.assign("/signin");
});

$("profile-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("profile-name");
  const problem = $("profile-error");
  const status = $("profile-status");
  problem.textContent = "";
  status.textContent = "";
  name.removeAttribute("aria-invalid");
  const displayName = name.value.trim();
  if (!displayName) {
    name.setAttribute("aria-invalid", "true");
    problem.textContent = "Enter the name participants should see.";
    name.focus();
    return;
  }
  try {
    const me = await api("PATCH", "/api/me", {
      display_name: displayName,
      credentials: $("profile-credentials").value.trim(),
    });
    showMe(me);
    fillProfile(me);
    status.textContent = "Saved";
  } catch (error) {
    report(error, problem);
  }
});

function fillProfile(me) {
  $("profile-name").value = me.display_name;
  $("profile-credentials").value = me.credentials;
}

// ------------------------------------------------------------------ groups and invites

function groupName(groupId) {
  if (!groupId) return "No group";
  const group = state.groups.find((g) => g.id === groupId);
  return group ? group.name : groupId;
}

async function loadGroups() {
  const { groups } = await api("GET", "/api/groups");
  state.groups = groups;
  await Promise.all(groups.map((g) => loadInvites(g.id)));
  renderGroups();
  renderGroupChoice();
}

async function loadInvites(groupId) {
  const { invites } = await api("GET", `/api/groups/${encodeURIComponent(groupId)}/invites`);
  state.invites.set(groupId, invites);
}

function renderGroupChoice() {
  const select = $("session-group");
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "", text: "No group" }));
  for (const group of state.groups) {
    select.append(el("option", { value: group.id, text: group.name }));
  }
  select.value = state.groups.some((g) => g.id === chosen) ? chosen : "";
}

function renderGroups() {
  const holder = $("groups");
  if (state.groups.length === 0) {
    holder.replaceChildren(el("p", { class: "empty", text: "No groups yet." }));
    return;
  }
  holder.replaceChildren(...state.groups.map(groupCard));
}

function groupCard(group) {
  const titleId = nextId("group-title");
  const inputId = nextId("invite-label");
  const invites = state.invites.get(group.id) || [];
  const problem = el("p", { class: "form-error", role: "alert" });

  const list =
    invites.length === 0
      ? el("p", { class: "empty", text: "No personal invites yet." })
      : el("ul", { class: "invites" }, ...invites.map((inv) => inviteItem(group, inv, problem)));

  const input = el("input", { id: inputId, type: "text", maxlength: "80", required: true });
  const form = el(
    "form",
    { class: "inline-form", novalidate: true },
    el(
      "div",
      { class: "field" },
      el("label", { for: inputId, text: "Label for a new personal invite (e.g. initials)" }),
      input,
    ),
    el("button", { class: "btn", type: "submit" }, "Add invite", srOnly(` to ${group.name}`)),
    problem,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.textContent = "";
    input.removeAttribute("aria-invalid");
    const label = input.value.trim();
    if (!label) {
      input.setAttribute("aria-invalid", "true");
      problem.textContent = "Enter a label, so you know whose invite it is.";
      input.focus();
      return;
    }
    try {
      await api("POST", `/api/groups/${encodeURIComponent(group.id)}/invites`, { label });
      await loadInvites(group.id);
    } catch (error) {
      report(error, problem);
      return;
    }
    $("page-status").textContent = `Personal invite for ${label} added to ${group.name}.`;
    renderGroups();
    focusInviteInput(group.id);
    await invitesChanged(group.id);
  });

  return el(
    "article",
    { class: "group", "aria-labelledby": titleId, "data-group-id": group.id },
    el("h3", { id: titleId, text: group.name }),
    el(
      "p",
      {},
      el("a", { href: `/groups/${encodeURIComponent(group.id)}` }, "Trends across sessions", srOnly(` of ${group.name}`)),
    ),
    el("h4", { text: "Personal invites" }),
    list,
    form,
  );
}

function focusInviteInput(groupId) {
  const card = [...document.querySelectorAll("article.group")].find(
    (a) => a.dataset.groupId === groupId,
  );
  card?.querySelector("input")?.focus();
}

function inviteItem(group, invite, problem) {
  const added = fromUnix(invite.created_at);
  const item = el(
    "li",
    { class: invite.revoked ? "invite revoked" : "invite" },
    el("span", { class: "invite-label", text: invite.label }),
    " ",
    el("span", { class: "muted" }, "added ", timeElement(added)),
  );
  if (invite.revoked) {
    item.append(" ", el("span", { class: "badge", text: "Revoked" }));
    return item;
  }
  const revoke = el(
    "button",
    { class: "btn small danger-outline", type: "button" },
    "Revoke",
    srOnly(` the invite for ${invite.label}`),
  );
  revoke.addEventListener("click", async () => {
    const sure = confirm(
      `Revoke the personal invite for ${invite.label}? Their links stop working in every ` +
        `session of ${group.name}.`,
    );
    if (!sure) return;
    problem.textContent = "";
    try {
      await api(
        "DELETE",
        `/api/groups/${encodeURIComponent(group.id)}/invites/${encodeURIComponent(invite.id)}`,
      );
      await loadInvites(group.id);
    } catch (error) {
      report(error, problem);
      return;
    }
    $("page-status").textContent = `Invite for ${invite.label} revoked.`;
    renderGroups();
    focusInviteInput(group.id);
    await invitesChanged(group.id);
  });
  item.append(" ", revoke);
  return item;
}

// Personal links are minted per session from the group's invites: show the new set.
async function invitesChanged(groupId) {
  if (state.created && state.created.group_id === groupId) {
    try {
      state.created = await api("GET", `/api/sessions/${encodeURIComponent(state.created.session_id)}`);
      renderCreated();
    } catch (error) {
      report(error, $("session-error"));
    }
  }
  try {
    await loadSessions();
  } catch (error) {
    report(error, $("sessions-error"));
  }
}

$("group-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("group-name");
  const problem = $("group-error");
  problem.textContent = "";
  input.removeAttribute("aria-invalid");
  const name = input.value.trim();
  if (!name) {
    input.setAttribute("aria-invalid", "true");
    problem.textContent = "Enter a name for the group.";
    input.focus();
    return;
  }
  let group;
  try {
    group = await api("POST", "/api/groups", { name });
  } catch (error) {
    report(error, problem);
    return;
  }
  state.groups.push(group);
  state.invites.set(group.id, []);
  input.value = "";
  renderGroups();
  renderGroupChoice();
  $("page-status").textContent = `Group ${group.name} created.`;
});

// ------------------------------------------------------------------ links

function linkList(session) {
  const rows = [
    {
      label: "Facilitator link (yours; keep it private)",
      url: session.facilitator_url,
      help: "Opens the session as you, with your name and credentials.",
      open: true,
    },
    {
      label: "Co-facilitator link",
      url: session.cofacilitator_url,
      help: "For a colleague who leads with you.",
    },
    {
      label: "Invite link for participants",
      url: session.invite_url,
      help: session.waiting_room
        ? "Anyone with it can ask to join; the waiting room lets you admit each person."
        : "Anyone with it can join straight away (no waiting room).",
    },
    ...session.personal_invites.map((p) => ({
      label: `Personal invite link: ${p.label}`,
      url: p.url,
      personal: p.invite_id,
    })),
  ];
  const box = el("div", { class: "links" }, ...rows.map(linkRow));
  if (session.group_id && session.personal_invites.length === 0) {
    box.append(
      el("p", {
        class: "help",
        text: "No personal invite links: this group has no personal invites yet (add them under Groups).",
      }),
    );
  } else if (!session.group_id) {
    box.append(
      el("p", { class: "help", text: "Personal invite links come with sessions of a group." }),
    );
  }
  return box;
}

function linkRow(row) {
  const inputId = nextId("link");
  const helpId = row.help ? nextId("link-help") : null;
  const input = el("input", {
    id: inputId,
    type: "text",
    readOnly: true,
    value: row.url,
    spellcheck: false,
    "aria-describedby": helpId,
  });
  input.addEventListener("focus", () => input.select());
  const feedback = el("span", { class: "copy-feedback", "aria-live": "polite" });
  const copy = el("button", { class: "btn small", type: "button" }, "Copy", srOnly(` ${row.label}`));
  copy.addEventListener("click", () => copyLink(input, feedback));
  const line = el("div", { class: "link-line" }, input, copy);
  if (row.open) {
    line.append(
      el("a", {
        class: "btn small link-btn",
        href: row.url,
        target: "_blank",
        rel: "noopener noreferrer",
        text: "Open as facilitator",
      }),
    );
  }
  line.append(feedback);
  return el(
    "div",
    { class: "link-row", "data-invite-id": row.personal },
    el("label", { for: inputId, text: row.label }),
    line,
    helpId ? el("p", { id: helpId, class: "help", text: row.help }) : null,
  );
}

async function copyLink(input, feedback) {
  clearTimeout(feedback.timer);
  try {
    await navigator.clipboard.writeText(input.value);
    feedback.textContent = "Copied";
  } catch {
    input.focus();
    input.select();
    feedback.textContent = "Could not copy: the link is selected, press Ctrl+C (⌘C on a Mac).";
  }
  feedback.timer = setTimeout(() => {
    feedback.textContent = "";
  }, COPIED_SHOWN_MS);
}

// ------------------------------------------------------------------ new session

$("local-zone").textContent = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";

$("session-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const title = $("session-title");
  const start = $("session-start");
  const problem = $("session-error");
  problem.textContent = "";
  title.removeAttribute("aria-invalid");
  start.removeAttribute("aria-invalid");
  const body = { title: title.value.trim(), waiting_room: $("session-waiting").checked };
  if (!body.title) {
    title.setAttribute("aria-invalid", "true");
    problem.textContent = "Enter a title for the session.";
    title.focus();
    return;
  }
  if ($("session-group").value) body.group_id = $("session-group").value;
  if (start.value) {
    const iso = localInputToIso(start.value);
    if (!iso) {
      start.setAttribute("aria-invalid", "true");
      problem.textContent = "Enter the start as a date and a time.";
      start.focus();
      return;
    }
    body.scheduled_start = iso;
  } else if (start.validity.badInput) {
    start.setAttribute("aria-invalid", "true");
    problem.textContent = "The start is not complete: enter both a date and a time, or clear it.";
    start.focus();
    return;
  }
  try {
    state.created = await api("POST", "/api/sessions", body);
  } catch (error) {
    report(error, problem);
    return;
  }
  title.value = "";
  start.value = "";
  $("session-waiting").checked = true; // each new session starts with the safer default
  renderCreated();
  $("page-status").textContent = `Session ${state.created.title} created. Its links are below the form.`;
  $("created").focus();
  try {
    await loadSessions();
  } catch (error) {
    report(error, $("sessions-error"));
  }
});

function renderCreated() {
  const session = state.created;
  $("created-name").textContent = session.title;
  $("created-links").replaceChildren(linkList(session));
  $("created").hidden = false;
}

// ------------------------------------------------------------------ sessions list

async function loadSessions() {
  const { sessions } = await api("GET", "/api/sessions");
  state.sessions = sessions;
  $("sessions-error").textContent = "";
  renderSessions();
}

function sessionStatus(session) {
  if (session.ended_at) return { text: "Ended", kind: "ended", when: fromUnix(session.ended_at) };
  if (Date.parse(session.expires_at) <= Date.now()) return { text: "Links expired", kind: "ended" };
  if (session.scheduled_start) return { text: "Scheduled", kind: "scheduled" };
  return { text: "Open (no set start)", kind: "open" };
}

function renderSessions() {
  const list = $("sessions");
  if (state.sessions.length === 0) {
    list.replaceChildren(el("li", { class: "empty", text: "No sessions yet." }));
    return;
  }
  list.replaceChildren(...state.sessions.map(sessionItem));
}

function fact(term, ...value) {
  return el("div", {}, el("dt", { text: term }), el("dd", {}, ...value));
}

function sessionItem(session) {
  const titleId = nextId("session-title");
  const linksId = nextId("session-links");
  const auditId = nextId("session-audit");
  const status = sessionStatus(session);

  const start = session.scheduled_start
    ? timeElement(new Date(session.scheduled_start))
    : "Not scheduled";
  const facts = el(
    "dl",
    { class: "facts" },
    fact("Group", groupName(session.group_id)),
    fact("Scheduled start", start),
    fact(
      "Status",
      el("span", { class: `status status-${status.kind}`, text: status.text }),
      status.when ? " " : null,
      status.when ? timeElement(status.when) : null,
    ),
    fact("Waiting room", session.waiting_room ? "On" : "Off"),
    fact("Links work until", timeElement(new Date(session.expires_at))),
  );

  const linksPanel = el("div", { id: linksId, class: "panel-inner", hidden: true });
  const auditPanel = el("div", { id: auditId, class: "panel-inner", hidden: true });
  const linksButton = el(
    "button",
    { class: "btn small", type: "button", "aria-expanded": "false", "aria-controls": linksId },
    "Links",
    srOnly(` for ${session.title}`),
  );
  const auditButton = el(
    "button",
    { class: "btn small", type: "button", "aria-expanded": "false", "aria-controls": auditId },
    "Audit log",
    srOnly(` of ${session.title}`),
  );

  const showLinks = (open) => {
    linksButton.setAttribute("aria-expanded", String(open));
    linksPanel.hidden = !open;
    if (open) {
      state.openLinks.add(session.session_id);
      linksPanel.replaceChildren(linkList(session));
    } else {
      state.openLinks.delete(session.session_id);
      linksPanel.replaceChildren();
    }
  };
  const showAudit = (open) => {
    auditButton.setAttribute("aria-expanded", String(open));
    auditPanel.hidden = !open;
    if (open) {
      state.openAudit.add(session.session_id);
      loadAudit(session, auditPanel);
    } else {
      state.openAudit.delete(session.session_id);
      auditPanel.replaceChildren();
    }
  };
  linksButton.addEventListener("click", () => showLinks(linksPanel.hidden));
  auditButton.addEventListener("click", () => showAudit(auditPanel.hidden));
  if (state.openLinks.has(session.session_id)) showLinks(true);
  if (state.openAudit.has(session.session_id)) showAudit(true);

  return el(
    "li",
    { class: "session", "aria-labelledby": titleId, "data-session-id": session.session_id },
    el("h3", { id: titleId, text: session.title }),
    facts,
    el(
      "div",
      { class: "actions" },
      linksButton,
      auditButton,
      el(
        "a",
        { class: "btn small", href: `/sessions/${encodeURIComponent(session.session_id)}/summary` },
        "Summary",
        srOnly(` of ${session.title}`),
      ),
    ),
    linksPanel,
    auditPanel,
  );
}

async function loadAudit(session, panel) {
  const problem = el("p", { class: "form-error", role: "alert" });
  const status = el("p", { class: "muted", role: "status", text: "Loading the audit log…" });
  panel.replaceChildren(status, problem);
  let entries;
  try {
    const path = `/api/sessions/${encodeURIComponent(session.session_id)}/audit?limit=${AUDIT_LIMIT}`;
    ({ entries } = await api("GET", path));
  } catch (error) {
    status.textContent = "";
    report(error, problem);
    return;
  }
  const refresh = el("button", { class: "btn small", type: "button" }, "Refresh", srOnly(" the audit log"));
  refresh.addEventListener("click", () => loadAudit(session, panel));
  if (entries.length === 0) {
    status.textContent = "No actions yet.";
    panel.replaceChildren(status, refresh, problem);
    return;
  }
  status.textContent =
    entries.length >= AUDIT_LIMIT
      ? `The latest ${entries.length} actions, newest first.`
      : `${entries.length} action${entries.length === 1 ? "" : "s"}, newest first.`;
  panel.replaceChildren(status, auditTable(session, entries), refresh, problem);
}

function auditTable(session, entries) {
  const head = el(
    "tr",
    {},
    ...["Time", "Actor", "Action", "Target", "Outcome", "Detail"].map((h) =>
      el("th", { scope: "col", text: h }),
    ),
  );
  const rows = [...entries].reverse().map((e) =>
    el(
      "tr",
      {},
      el("td", {}, timeElement(fromUnix(e.at))),
      el("td", {}, el("span", { class: "mono", text: e.actor_id }), ` (${e.actor_role})`),
      el("td", { text: e.action }),
      el("td", { class: "mono", text: e.target_id || "—" }),
      el("td", {}, el("span", { class: `outcome outcome-${e.outcome}`, text: e.outcome })),
      el("td", { class: "mono", text: detailText(e.detail) }),
    ),
  );
  return el(
    "div",
    { class: "table-wrap" },
    el(
      "table",
      { class: "audit" },
      el("caption", { text: `Audit log of ${session.title}` }),
      el("thead", {}, head),
      el("tbody", {}, ...rows),
    ),
  );
}

function detailText(detail) {
  const parts = Object.entries(detail || {}).map(([k, v]) => `${k}: ${v}`);
  return parts.length ? parts.join(", ") : "—";
}

// ------------------------------------------------------------------ start

async function start() {
  let me;
  try {
    me = await api("GET", "/api/me");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      showSignedOut();
      $("page-status").textContent = "You are not signed in. Taking you to the sign-in page…";
      location.replace(SIGN_IN_URL);
      return;
    }
    report(error, $("page-status"));
    return;
  }
  showMe(me);
  fillProfile(me);
  $("console").hidden = false;
  try {
    await loadGroups();
  } catch (error) {
    report(error, $("group-error"));
  }
  try {
    await loadSessions();
  } catch (error) {
    report(error, $("sessions-error"));
  }
  $("page-status").textContent = "";
  document.body.dataset.ready = "true";
}

start();
