// Local media (the preview, our camera and microphone) and the two peer connections: publish
// (ours -> server) and subscribe (server -> us, fixed slots mapped to participants by
// transceiver mid).
import { $, show } from '../lib/dom.js';
import { applyVideoWatched, viewForgotten } from './last_n.js';
import { request } from './network.js';
import { app } from './state.js';
import { renderMedia } from './tiles.js';
import { notice } from './ui.js';

// ---------------------------------------------------------------- local media

export function stopLocalMedia() {
  if (app.localStream) for (const t of app.localStream.getTracks()) t.stop();
  app.localStream = null;
  app.audioTrack = null;
  app.videoTrack = null;
}

function deviceMessage(text) {
  const el = $('device-message');
  el.textContent = text || '';
  el.hidden = !text;
  show('device-retry', Boolean(text));
}

function describeMediaError(err, wanted) {
  const name = err?.name;
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return (
      'Your browser is not allowing Circle to use your camera and microphone. To allow them, ' +
      'click the camera or lock icon next to the web address at the top of the window, choose ' +
      '“Allow” for camera and microphone, then press “Try camera and microphone again”. ' +
      'You can also join without them: others will see your name, but will not see or hear you.'
    );
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') {
    return `We could not find a ${wanted}. Check that it is plugged in, then try again. You can still join.`;
  }
  if (name === 'NotReadableError' || name === 'AbortError') {
    return (
      `Your ${wanted} seems to be in use by another app (for example another video call). ` +
      'Close that app, then try again. You can still join.'
    );
  }
  if (!navigator.mediaDevices?.getUserMedia) {
    return 'This browser cannot use a camera or microphone here. You can still join and listen.';
  }
  return `We could not start your ${wanted}. You can still join, or try again.`;
}

/** Starts the camera and microphone for the preview; `devices` picks them by id. */
export async function startPreview(devices = {}) {
  stopLocalMedia();
  deviceMessage('');
  const video = {
    width: { ideal: 640 },
    height: { ideal: 480 },
    frameRate: { ideal: 20, max: 30 },
    ...(devices.camera ? { deviceId: { exact: devices.camera } } : {}),
  };
  const audio = {
    echoCancellation: true,
    noiseSuppression: true,
    autoGainControl: true,
    ...(devices.mic ? { deviceId: { exact: devices.mic } } : {}),
  };
  let stream = null;
  let problem = null;
  if (!navigator.mediaDevices?.getUserMedia) {
    problem = describeMediaError(null, 'camera or microphone');
  } else {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio, video });
    } catch (err) {
      problem = describeMediaError(err, 'camera or microphone');
      if (err && err.name !== 'NotAllowedError' && err.name !== 'SecurityError') {
        // One device may work without the other.
        for (const [constraints, missing] of [
          [{ audio }, 'camera'],
          [{ video }, 'microphone'],
        ]) {
          try {
            stream = await navigator.mediaDevices.getUserMedia(constraints);
            problem =
              `We could not start your ${missing}. You can still join with your ` +
              `${missing === 'camera' ? 'microphone' : 'camera'} only, or fix it and try again.`;
            break;
          } catch {
            /* try the next */
          }
        }
      }
    }
  }
  if (app.state !== 'prejoin') {
    // joined or failed meanwhile
    if (stream) for (const t of stream.getTracks()) t.stop();
    return;
  }
  app.localStream = stream;
  app.audioTrack = stream ? stream.getAudioTracks()[0] || null : null;
  app.videoTrack = stream ? stream.getVideoTracks()[0] || null : null;
  const preview = $('preview');
  preview.srcObject = app.videoTrack ? new MediaStream([app.videoTrack]) : null;
  show('preview-placeholder', !app.videoTrack);
  deviceMessage(problem);
  document.dispatchEvent(new CustomEvent('circle:preview'));
}

const GATHER_TIMEOUT_MS = 5000;
// Simulcast (docs/architecture.md): half and full resolution, so the server forwards each
// subscriber the layer its tile needs. Chromium sends both from 640x480 up.
const CAMERA_LAYERS = [
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 150000, maxFramerate: 20 },
  { rid: 'f', maxBitrate: 550000, maxFramerate: 20 },
];
const CAMERA_SINGLE = [{ maxBitrate: 600000, maxFramerate: 20 }];

/** Our camera's transceiver: simulcast where the browser can, else one encoding. */
function addCamera(pc, stream) {
  for (const sendEncodings of [CAMERA_LAYERS, CAMERA_SINGLE]) {
    try {
      return pc.addTransceiver(app.videoTrack, {
        direction: 'sendonly',
        streams: [stream],
        sendEncodings,
      });
    } catch (err) {
      if (sendEncodings === CAMERA_SINGLE) throw err;
    }
  }
}

// ---------------------------------------------------------------- WebRTC helpers

function gatheringComplete(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const timer = setTimeout(done, GATHER_TIMEOUT_MS); // send what we have
    pc.addEventListener('icegatheringstatechange', check);
  });
}

export function closePeerConnections() {
  for (const pc of [app.pcPublish, app.pcSubscribe]) {
    if (pc)
      try {
        pc.close();
      } catch {
        /* already closed */
      }
  }
  app.pcPublish = null;
  app.pcSubscribe = null;
}

export async function publish(gen) {
  const tracks = [app.audioTrack, app.videoTrack].filter(Boolean);
  if (!tracks.length) return; // joined without media: nothing to send
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', iceServers: app.iceServers });
  app.pcPublish = pc;
  app.videoWatched = true; // a new publish is watched until the server says otherwise
  app.videoLayers = null; // and encodes every layer (null: all)
  watchConnection(pc, 'publish');
  const stream = new MediaStream(tracks);
  if (app.audioTrack) {
    pc.addTransceiver(app.audioTrack, { direction: 'sendonly', streams: [stream] });
  }
  if (app.videoTrack) addCamera(pc, stream);
  await pc.setLocalDescription(await pc.createOffer());
  await gatheringComplete(pc);
  if (gen !== app.generation) return;
  const res = await request('publish', { sdp: pc.localDescription.sdp });
  if (gen !== app.generation) return;
  await pc.setRemoteDescription({ type: 'answer', sdp: res.sdp });
  await applyVideoWatched(); // `video_watched` may have come with the answer
}

export async function subscribe(gen) {
  const res = await request('subscribe', {});
  if (gen !== app.generation) return;
  // Take the ack's slot map right away: `slots` events that arrive while we negotiate are newer.
  if (Array.isArray(res.slots)) app.slots = res.slots;
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', iceServers: app.iceServers });
  app.pcSubscribe = pc;
  watchConnection(pc, 'subscribe');
  await pc.setRemoteDescription({ type: 'offer', sdp: res.sdp });
  await pc.setLocalDescription(await pc.createAnswer());
  renderMedia();
  await gatheringComplete(pc);
  if (gen !== app.generation) return;
  await request('subscribe_answer', { sdp: pc.localDescription.sdp });
  viewForgotten();
}

const MEDIA_RESTARTS_MAX = 3; // then the network is likely blocking it: say so
let mediaFailed = () => {};
let restartsInARow = 0;
/** Who renegotiates when a peer connection fails (the join module). */
export function onMediaFailed(handler) {
  mediaFailed = handler;
}

function watchConnection(pc, label) {
  let warned = null;
  pc.addEventListener('connectionstatechange', () => {
    if (pc !== app.pcPublish && pc !== app.pcSubscribe) return;
    const s = pc.connectionState;
    if (s === 'failed' && restartsInARow < MEDIA_RESTARTS_MAX) {
      restartsInARow += 1;
      mediaFailed();
    } else if (s === 'failed') {
      notice(
        label === 'publish'
          ? 'Your camera and microphone could not reach the session. Others may not see or hear you.'
          : 'Video and sound from the group could not reach you. Your network may be blocking it.',
        'error',
        0,
      );
    } else if (s === 'disconnected' && !warned) {
      warned = notice('Your connection is unstable. Trying to recover…', 'warn');
    } else if (s === 'connected') {
      restartsInARow = 0;
      warned?.remove();
      warned = null;
    }
  });
}
