// Landing page: create a session with the server's API key and show its two links.
import { $ } from './lib/dom.js';

const form = $('create');
const problem = $('create-error');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  problem.textContent = '';
  let response;
  try {
    response = await fetch('/api/sessions', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${$('api-key').value.trim()}`,
      },
      body: JSON.stringify({ title: $('title').value }),
    });
  } catch {
    problem.textContent = 'The server cannot be reached. Check that Circle is running.';
    return;
  }
  const body = await response.json();
  if (!response.ok) {
    problem.textContent = body.message || 'The session could not be created.';
    return;
  }
  $('facilitator-url').value = body.facilitator_url;
  $('invite-url').value = body.invite_url;
  $('open-facilitator').href = body.facilitator_url;
  $('links').hidden = false;
});
