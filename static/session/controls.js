// Our own controls: microphone, camera, hand, help, and the role line.
import { $, show } from '../lib/dom.js';
import { control, request } from './network.js';
import { app, leads, roleLabel } from './state.js';
import { updateTile } from './tiles.js';
import { notice } from './ui.js';

// ---------------------------------------------------------------- controls

export function renderControls() {
  const mic = $('mic-button');
  const cam = $('cam-button');
  mic.disabled = !app.audioTrack;
  cam.disabled = !app.videoTrack;
  const micOff = !app.micOn || !app.audioTrack;
  const camOff = !app.camOn || !app.videoTrack;
  // aria-pressed = "the mute / camera-off toggle is engaged"
  mic.setAttribute('aria-pressed', String(micOff));
  cam.setAttribute('aria-pressed', String(camOff));
  mic.querySelector('.label').textContent = !app.audioTrack
    ? 'No microphone'
    : micOff
      ? 'Unmute microphone'
      : 'Mute microphone';
  cam.querySelector('.label').textContent = !app.videoTrack
    ? 'No camera'
    : camOff
      ? 'Turn camera on'
      : 'Turn camera off';
  // the phone's one-row toolbar shows these shorter words (the full label stays the name)
  mic.querySelector('.short').textContent = !app.audioTrack ? 'No mic' : micOff ? 'Unmute' : 'Mute';
  cam.querySelector('.short').textContent = !app.videoTrack
    ? 'No camera'
    : camOff
      ? 'Start video'
      : 'Stop video';
  mic.classList.toggle('off', micOff);
  cam.classList.toggle('off', camOff);
  const me = app.participants.get(app.participantId);
  // Muted by a facilitator with unmuting turned off: the server would refuse, so say why.
  const micLocked = Boolean(me?.audio_locked && micOff && app.audioTrack);
  if (micLocked) mic.querySelector('.label').textContent = 'Muted by facilitator';
  mic.title = micLocked ? 'A facilitator has muted everyone. Raise your hand to ask to speak.' : '';
  mic.classList.toggle('locked', micLocked);
  const hand = $('hand-button');
  const raised = Boolean(me?.hand);
  hand.setAttribute('aria-pressed', String(raised));
  hand.textContent = raised ? 'Lower hand' : 'Raise hand';
  // a step-away of our own (a private talk is shown by its own bar)
  const away = Boolean(me?.away);
  const awayButton = $('away-button');
  awayButton.setAttribute('aria-pressed', String(away));
  awayButton.textContent = away ? "I'm back" : 'Step away';
  show('away-bar', away && app.state === 'joined');
  const help = $('help-button');
  help.hidden = leads(app.role);
  help.setAttribute('aria-pressed', String(app.myHelpPending));
  help.textContent = app.myHelpPending ? 'Help requested' : 'I need help';
  if (me) updateTile(me);
}

export function sendMediaState() {
  if (!app.socket || app.state !== 'joined') return;
  const body = {
    audio: Boolean(app.audioTrack) && app.micOn,
    video: Boolean(app.videoTrack) && app.camOn,
  };
  request('media_state', body).catch((err) => {
    if (err.code === 'forbidden' && body.audio) setMic(false); // the server keeps us muted
    notice(
      err.code === 'forbidden' ? err.message : `Could not update your status: ${err.message}`,
      'warn',
    );
  });
}

/** Turns our microphone or camera on or off locally (the server is told by sendMediaState). */
function setDevice(kind, on) {
  const track = kind === 'audio' ? app.audioTrack : app.videoTrack;
  if (kind === 'audio') app.micOn = on;
  else app.camOn = on;
  if (track) track.enabled = on;
  const me = app.participants.get(app.participantId);
  if (me) me[kind] = on && Boolean(track);
  renderControls();
}

export const setMic = (on) => setDevice('audio', on);
export const setCam = (on) => setDevice('video', on);

export function toggleMic() {
  if (!app.audioTrack) return;
  const me = app.participants.get(app.participantId);
  if (!app.micOn && me && me.audio_locked) {
    notice('A facilitator has muted everyone for now. Raise your hand to ask to speak.', 'info');
    return;
  }
  setMic(!app.micOn);
  sendMediaState();
}

export function toggleCam() {
  if (!app.videoTrack) return;
  setCam(!app.camOn);
  sendMediaState();
}

export function toggleHand() {
  const me = app.participants.get(app.participantId);
  control({ action: me?.hand ? 'lower_hand' : 'raise_hand' });
}

/** Step away for a moment (a call, the door): the group neither sees nor hears us. */
export function toggleAway() {
  const me = app.participants.get(app.participantId);
  control({ action: 'step_away', away: !me?.away });
}

export async function askForHelp() {
  if (await control({ action: 'help' })) {
    app.myHelpPending = true;
    renderControls();
    const el = notice(
      'A facilitator has been told privately. They will reach out to you soon.',
      'info',
      10000,
    );
    el.dataset.help = 'pending'; // taken away when the private talk starts
  }
}

export function renderRole() {
  const text =
    app.role === 'participant'
      ? 'You are a participant'
      : app.role
        ? `You are the ${roleLabel(app.role).toLowerCase()}`
        : '';
  $('my-role').textContent = text;
  show('my-role', Boolean(text));
}
