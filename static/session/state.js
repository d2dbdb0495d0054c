// The session page's state: one object, each part written by the module named above it (the
// others read it). `window.circle` exposes some of it to the browser tests.
const ROLE_LABELS = {
  facilitator: 'Facilitator',
  cofacilitator: 'Co-facilitator',
  participant: 'Participant',
};

export const app = {
  // join.js: the connection and who we are
  state: 'prejoin', // prejoin | connecting | joining | waiting | joined | reconnecting | left | error
  token: null,
  tokenClaims: null,
  sessionId: decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() || ''),
  socket: null,
  everConnected: false,
  name: '',
  participantId: null,
  role: null,
  room: null,
  roomWith: [], // who else is in our room, as the last room_changed said
  generation: 0, // bumps on every (re)join so stale async work can stop
  nodes: [], // a cluster's other nodes, from the last join reply: where to go if ours dies
  moved: null, // network.js: {ticket, fled} when another node sent us here
  moveTicket: null, // network.js: from the last join reply, what a move carries to another node
  // join.js: session state from the server (snapshot + events); see docs/api.md.
  participants: new Map(), // id -> Participant
  waiting: new Map(), // leaders only: id -> Participant in the waiting room
  handQueue: [],
  spotlight: null,
  locked: false,
  mayUnmute: true,
  privateChatAllowed: false, // participant-to-participant; the facilitator may turn it on
  privateSince: null, // private_talk.js: performance.now() when our private talk began
  helpRequests: new Map(), // leaders only: participant id -> unix seconds
  // crisis.js: the pre-join safety check as sent, and the group's holding message
  safety: null,
  holding: null,
  // media.js: our devices and the two peer connections
  localStream: null,
  audioTrack: null,
  videoTrack: null,
  iceServers: [], // from the join reply: the server's STUN/TURN list
  pcPublish: null,
  pcSubscribe: null,
  previewPromise: null,
  // controls.js: our microphone, camera and help request
  micOn: true,
  camOn: true,
  myHelpPending: false,
  // tiles.js: who is shown with which track
  slots: [],
  activeSpeaker: null,
  // last_n.js: the tiles last reported to the server, and whether anyone watches our camera
  view: [],
  videoWatched: true,
  videoLayers: null, // the simulcast rids the server wants encoded (null: all)
  soundBlocked: false,
  // chat.js and people.js: the side panel
  chat: [], // {from, to, text, at}
  chatUnread: 0,
  panelTab: null, // null (closed) | 'people' | 'chat' | 'rooms' | 'engagement'
  // rooms.js: breakout rooms
  breakouts: { rooms: [], open: false }, // the public view (timer, rooms)
  breakoutsAt: 0, // performance.now() when `breakouts` arrived (countdowns run locally)
  plan: null, // leaders: assignment, keep-apart pairs, members of each room
  roomSpeakers: {}, // leaders: room id -> the active speaker there
  roomHelp: new Map(), // leaders: participant id -> a breakout room's call for help
  // engagement.js (leaders)
  engagement: null, // the last engagement report (every second)
  speakingNow: new Set(), // who is speaking now (on change)
  // quality.js
  quality: {}, // leaders: participant id -> {up, down, client} (every 2 s)
  myQuality: null, // our own levels {up, down}
  heldBack: new Set(), // tiles the server sends no video for: our link's bandwidth
  qualityHint: '',
};

window.circle = {
  get pcPublish() {
    return app.pcPublish;
  },
  get pcSubscribe() {
    return app.pcSubscribe;
  },
  get participantId() {
    return app.participantId;
  },
  get state() {
    return app.state;
  },
  get role() {
    return app.role;
  },
  get slots() {
    return app.slots;
  },
  get view() {
    return app.view;
  },
  get videoWatched() {
    return app.videoWatched;
  },
  get videoLayers() {
    return app.videoLayers;
  },
  get participants() {
    return [...app.participants.values()];
  },
  get activeSpeaker() {
    return app.activeSpeaker;
  },
  get room() {
    return app.room;
  },
  get waiting() {
    return [...app.waiting.values()];
  },
  get handQueue() {
    return app.handQueue;
  },
  get spotlight() {
    return app.spotlight;
  },
  get helpRequests() {
    return [...app.helpRequests.keys()];
  },
  get chat() {
    return app.chat;
  },
};

export const REACTIONS = ['👍', '👏', '❤️', '😂', '😮', '🙏'];
export const leads = (role) => role === 'facilitator' || role === 'cofacilitator';

/** The spotlight as our grid shows it: it belongs to the main room, and never follows anyone
 *  into a breakout or private room. */
export function shownSpotlight() {
  return !app.room || app.room === 'main' ? app.spotlight : null;
}

export function roleLabel(role) {
  return ROLE_LABELS[role] || '';
}

/** A name with a leader's credentials, e.g. "Dana Kim, LCSW". */
export function displayName(p) {
  return p.credentials ? `${p.name}, ${p.credentials}` : p.name || '';
}

/** Which link a knock came with: a member's personal invite, by its label, or the general one. */
export const linkOf = (p) => (p.invite ? `personal invite “${p.invite}”` : 'general link');

export function nameOf(id) {
  const p = app.participants.get(id) || app.waiting.get(id);
  return p ? p.name : 'Someone';
}
