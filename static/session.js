// Circle session page: pre-join (preview, name), then the live session over socket.io + WebRTC.
// Protocol: docs/api.md. This module wires the page; the parts are in static/session/.
import { $ } from './lib/dom.js';
import { sendChat } from './session/chat.js';
import { askForHelp, toggleAway, toggleCam, toggleHand, toggleMic } from './session/controls.js';
import { safetyForJoin, wireCrisis } from './session/crisis.js';
import { confirmDialog, linkError, unreachable } from './session/dialogs.js';
import { wireEngagement } from './session/engagement.js';
import { connect, leave } from './session/join.js';
import { reportView, wireView } from './session/last_n.js';
import { startPreview } from './session/media.js';
import { control, readToken } from './session/network.js';
import { wirePaging } from './session/paging.js';
import { renderPanel, togglePanel, wireTabs } from './session/people.js';
import { loadAbout, wirePrejoin } from './session/prejoin.js';
import { wirePrivateTalk } from './session/private_talk.js';
import { wireQuality } from './session/quality.js';
import { wireRooms } from './session/rooms.js';
import { resumeSound } from './session/sound.js';
import { app, REACTIONS } from './session/state.js';
import { fitGrid, renderMedia } from './session/tiles.js';
import { showScreen } from './session/ui.js';
import { wireVideoNotes } from './session/video_note.js';

// ---------------------------------------------------------------- page wiring

async function onJoinSubmit(event) {
  event.preventDefault();
  const name = $('name-input').value.trim();
  const errorEl = $('join-error');
  if (!name || name.length > 60) {
    errorEl.textContent = name
      ? 'Please use a name of at most 60 characters.'
      : 'Please enter your name.';
    errorEl.hidden = false;
    $('name-input').setAttribute('aria-invalid', 'true');
    $('name-input').focus();
    return;
  }
  $('name-input').removeAttribute('aria-invalid');
  const safety = safetyForJoin();
  if (safety?.error) {
    errorEl.textContent = safety.error;
    errorEl.hidden = false;
    $(safety.field).setAttribute('aria-invalid', 'true');
    $(safety.field).focus();
    return;
  }
  for (const id of ['safety-location', 'safety-contact-phone'])
    $(id).removeAttribute('aria-invalid');
  app.safety = safety;
  errorEl.hidden = true;
  app.name = name;
  $('join-button').disabled = true;
  // Don't race the camera prompt: join with whatever devices it gives us.
  if (app.previewPromise) await app.previewPromise.catch(() => {});
  if (app.state !== 'prejoin') return;
  if (app.socket) app.socket.disconnect();
  app.everConnected = false;
  connect();
}

/** Sent here by another node of the cluster (network.js moveTo) with a move ticket: asks
 * this server to carry the seat over at once. Only a ticket it accepts skips the pre-join
 * screen (the person passed it on the other node); a refused one shows it (join.js). */
async function rejoinMoved() {
  $('join-button').disabled = true;
  await app.previewPromise.catch(() => {});
  if (app.state !== 'prejoin') return;
  connect();
}

function init() {
  $('join-form').addEventListener('submit', onJoinSubmit);
  $('device-retry').addEventListener('click', () => {
    app.previewPromise = startPreview();
  });
  $('mic-button').addEventListener('click', toggleMic);
  $('cam-button').addEventListener('click', toggleCam);
  $('leave-button').addEventListener('click', async () => {
    const sure = await confirmDialog(
      'Leave the session?',
      'You will stop seeing and hearing the group. You can join again with your link.',
      'Leave',
      'Stay',
    );
    if (sure) leave();
  });
  $('more-button').addEventListener('click', () => {
    const open = !$('more-menu').classList.contains('open');
    $('more-menu').classList.toggle('open', open);
    $('more-button').setAttribute('aria-expanded', String(open));
  });
  $('more-menu').addEventListener('click', (e) => {
    // a phone's "More" sheet closes once something in it was chosen
    if (e.target.closest('button') && e.target.id !== 'react-button') {
      $('more-menu').classList.remove('open');
      $('more-button').setAttribute('aria-expanded', 'false');
    }
  });
  $('waiting-leave').addEventListener('click', leave);
  $('hand-button').addEventListener('click', toggleHand);
  $('away-button').addEventListener('click', toggleAway);
  $('away-return').addEventListener('click', toggleAway);
  $('help-button').addEventListener('click', askForHelp);
  $('people-button').addEventListener('click', () => togglePanel('people'));
  $('chat-button').addEventListener('click', () => togglePanel('chat'));
  wireTabs();
  wireRooms();
  wireEngagement();
  wireQuality();
  wirePrivateTalk();
  wireCrisis();
  document.addEventListener('circle:crisis', () => renderPanel());
  wireVideoNotes();
  wirePrejoin();
  $('chat-form').addEventListener('submit', sendChat);
  $('chat-text').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) sendChat(e);
  });
  $('react-button').addEventListener('click', () => {
    const menu = $('react-menu');
    menu.hidden = !menu.hidden;
    $('react-button').setAttribute('aria-expanded', String(!menu.hidden));
  });
  $('react-menu').append(
    ...REACTIONS.map((emoji) => {
      const btn = document.createElement('button');
      btn.type = 'button';
      btn.className = 'btn small';
      btn.textContent = emoji;
      btn.setAttribute('aria-label', `React ${emoji}`);
      btn.addEventListener('click', () => {
        $('react-menu').hidden = true;
        $('react-button').setAttribute('aria-expanded', 'false');
        control({ action: 'react', emoji });
      });
      return btn;
    }),
  );
  $('mute-all').addEventListener('click', () =>
    control({ action: 'mute_all', lock: $('mute-all-lock').checked }, 'Everyone is muted'),
  );
  $('allow-unmute').addEventListener('click', () => control({ action: 'allow_unmute' }));
  $('lock-toggle').addEventListener('click', () =>
    control({ action: app.locked ? 'unlock' : 'lock' }),
  );
  $('lower-all').addEventListener('click', () => control({ action: 'lower_all_hands' }));
  $('admit-all').addEventListener('click', () => control({ action: 'admit_all' }));
  $('private-chat-toggle').addEventListener('change', (e) =>
    control({ action: 'set_private_chat', allowed: e.target.checked }),
  );
  $('end-session').addEventListener('click', async () => {
    const sure = await confirmDialog(
      'End the session for everyone?',
      'Everyone is disconnected at once, breakout rooms and private talks included, and ' +
        'nobody can join this session again.',
      'End session for everyone',
    );
    if (sure) control({ action: 'end' });
  });
  $('rejoin-button').addEventListener('click', () => location.reload());
  $('sound-button').addEventListener('click', resumeSound);
  window.addEventListener('hashchange', () => location.reload());
  new ResizeObserver(() => {
    fitGrid();
    reportView();
  }).observe($('grid'));
  wireView();
  wirePaging(() => {
    fitGrid();
    renderMedia();
    reportView();
  });
  window.addEventListener('pagehide', () => {
    if (app.socket && app.state === 'joined') app.socket.emit('leave', {});
  });

  const tok = readToken();
  if (tok.error) {
    linkError(tok.error);
    return;
  }
  app.token = tok.token;
  app.tokenClaims = tok.claims;
  if (typeof tok.claims.title === 'string' && tok.claims.title) {
    $('session-title').textContent = tok.claims.title;
    document.title = `${tok.claims.title} – Circle`;
  }
  if (typeof io !== 'function') {
    unreachable();
    return;
  }
  showScreen('prejoin');
  app.previewPromise = startPreview();
  loadAbout();
  if (app.moved) rejoinMoved();
}

init();
