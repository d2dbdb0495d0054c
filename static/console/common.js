// What the console's parts share: the state, the API client and how errors and times show.
import { $, el } from '../lib/dom.js';

export const state = {
  me: null,
  groups: [],
  invites: new Map(), // group id -> invites (revoked ones included)
  sessions: [],
  created: null, // the session made last with the form, shown with its links
  openLinks: new Set(), // session ids whose links are shown in the list
  openAudit: new Set(), // session ids whose audit log is shown
};

let uid = 0;
export const nextId = (prefix) => `${prefix}-${++uid}`;

// ------------------------------------------------------------------ server

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (method !== 'GET') {
    // the server refuses unsafe requests that are not JSON (no cross-site form can send it)
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body === undefined ? {} : body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(
      0,
      'network',
      'The server cannot be reached. Check your connection and try again.',
    );
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message = data?.message || `The server answered ${response.status}.`;
    throw new ApiError(response.status, data?.error || 'error', message);
  }
  return data;
}

export function showSignedOut() {
  $('signed-out').hidden = false;
  $('page-status').textContent = 'You are signed out. Sign in again to continue.';
}

// Marks a form's field as wrong, says why next to the form, and puts the cursor there.
export function invalid(input, problem, text) {
  input.setAttribute('aria-invalid', 'true');
  problem.textContent = text;
  input.focus();
}

// Show a failed request next to the form (or list) that made it.
export function report(error, where) {
  if (error instanceof ApiError && error.status === 401) {
    showSignedOut();
    where.textContent = 'You are signed out: sign in again, then retry.';
    return;
  }
  where.textContent = error instanceof ApiError ? error.message : `Something went wrong: ${error}`;
}

// ------------------------------------------------------------------ formatting

const DATE_TIME = {
  weekday: 'short',
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: 'numeric',
  minute: '2-digit',
  timeZoneName: 'short',
};

function localTime(date) {
  return date.toLocaleString(undefined, DATE_TIME);
}

// Text for screen readers only: tells identical buttons apart ("Copy" which link).
export const srOnly = (text) => el('span', { class: 'visually-hidden', text });

export function timeElement(date) {
  return el('time', { datetime: date.toISOString(), text: localTime(date) });
}

export function groupName(groupId) {
  if (!groupId) return 'No group';
  const group = state.groups.find((g) => g.id === groupId);
  return group ? group.name : groupId;
}
