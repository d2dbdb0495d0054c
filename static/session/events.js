// Server events about the session: who joins, leaves, reconnects, is admitted or moved, the
// session's own state (lock, spotlight, hands, chat, help, end).
import { addChat, renderChatTargets } from './chat.js';
import { renderControls, renderRole, setCam, setMic, toggleMic } from './controls.js';
import { fatal, sessionEndedForLeaders } from './dialogs.js';
import { renderHelpAlerts } from './help.js';
import { actionButton } from './network.js';
import { renderHeader, renderPanel } from './people.js';
import { privateRoomChanged } from './private_talk.js';
import { breakoutWelcome } from './rooms.js';
import { app, leads, linkOf, nameOf } from './state.js';
import { renderTiles, showReaction } from './tiles.js';
import { chime, notice } from './ui.js';

// ---------------------------------------------------------------- session events

/** Server events about the session (docs/api.md); each updates state, then the page.
 * `join` gives what belongs to the join flow: entering the session, state, renegotiation. */
export function sessionEvents({
  applyParticipant,
  applyState,
  enterSession,
  renderAll,
  restartMedia,
}) {
  return {
    admitted: (state) => {
      if (app.state !== 'waiting') return;
      notice('You are in. Welcome to the group.', 'info', 5000);
      enterSession(state, app.generation);
    },
    snapshot: (state) => {
      // after a promotion: leaders also see the waiting room and help
      applyState(state);
      renderAll();
    },
    participant_reconnecting: (msg) => {
      const p = app.participants.get(msg.participant_id);
      if (!p) return;
      p.reconnecting = true;
      renderTiles();
      renderPanel();
    },
    participant_reconnected: (p) => {
      applyParticipant(p);
      renderTiles();
      renderPanel();
    },
    media_reset: () => restartMedia(),
    participant_waiting: (p) => {
      app.waiting.set(p.id, p);
      // a personal link's second device says so: "Sam is joining again from another device";
      // otherwise which link knocked, so a member is told from a stranger
      const el = notice(p.notice || `${p.name} is waiting to be let in (${linkOf(p)})`, 'info', 0);
      el.dataset.waiting = p.id;
      const admit = actionButton('Admit', { action: 'admit', target: p.id });
      admit.setAttribute('aria-label', `Admit ${p.name}`);
      admit.addEventListener('click', () => el.remove());
      el.insertBefore(admit, el.lastChild);
      chime();
      renderPanel();
    },
    participant_admitted: (p) => {
      app.waiting.delete(p.id);
      for (const el of document.querySelectorAll('.notice[data-waiting]')) {
        if (el.dataset.waiting === p.id) el.remove();
      }
      if (p.id !== app.participantId) {
        applyParticipant(p);
        notice(`${p.name} joined`, 'info', 4000);
      }
      renderAll();
    },
    participant_denied: (msg) => {
      fatal(
        'The facilitator did not let you in',
        msg.message || 'Please contact your facilitator if you think this is a mistake.',
      );
    },
    removed: (msg) => {
      fatal(
        'You were removed from the session',
        msg.blocked
          ? 'A facilitator removed you, and this link can no longer join this session.'
          : 'A facilitator removed you from the session. Please contact your facilitator.',
      );
    },
    participant_removed: (msg) => {
      const name = nameOf(msg.participant_id);
      app.participants.delete(msg.participant_id);
      app.helpRequests.delete(msg.participant_id);
      renderAll();
      if (leads(app.role))
        notice(`${name} was removed${msg.blocked ? ' and blocked' : ''}`, 'info');
    },
    session_ended: () => {
      if (leads(app.role)) sessionEndedForLeaders();
      else fatal('The session has ended', 'Thank you for being part of the group today.');
    },
    audio_forced_off: () => {
      setMic(false);
      notice('A facilitator muted your microphone.', 'warn', 8000);
    },
    video_forced_off: () => {
      setCam(false);
      notice('A facilitator turned off your camera. You can turn it back on.', 'warn', 8000);
    },
    unmute_requested: (msg) => {
      const el = notice(`${nameOf(msg.by)} asks you to unmute. It is your choice.`, 'info', 0);
      const btn = document.createElement('button');
      btn.type = 'button';
      btn.className = 'btn small';
      btn.textContent = 'Unmute';
      btn.addEventListener('click', () => {
        el.remove();
        if (!app.micOn) toggleMic();
      });
      el.insertBefore(btn, el.lastChild);
    },
    session_lock_changed: (msg) => {
      app.locked = Boolean(msg.locked);
      notice(
        app.locked ? 'The session is locked: nobody else can join.' : 'The session is open again.',
        'info',
        5000,
      );
      renderHeader();
      renderPanel();
    },
    spotlight_changed: (msg) => {
      app.spotlight = msg.participant_id ?? null;
      renderTiles();
      renderPanel();
    },
    hand_queue_changed: (msg) => {
      app.handQueue = Array.isArray(msg.queue) ? msg.queue : [];
      renderPanel();
    },
    reaction: (msg) => showReaction(msg.participant_id, msg.emoji),
    chat_message: (msg) => addChat(msg),
    help_requested: (msg) => {
      const isNew = !app.helpRequests.has(msg.participant_id);
      app.helpRequests.set(msg.participant_id, msg.at);
      chime(isNew ? 3 : 2);
      renderHelpAlerts();
    },
    help_resolved: (msg) => {
      app.helpRequests.delete(msg.participant_id);
      if (msg.participant_id === app.participantId) {
        app.myHelpPending = false;
        renderControls();
      }
      renderHelpAlerts();
    },
    role_changed: (msg) => {
      if (msg.participant_id === app.participantId) {
        app.role = msg.role;
        renderRole();
        notice(
          msg.role === 'participant'
            ? 'You are a participant again.'
            : 'You are now a co-facilitator: you can admit, mute and help people.',
          'info',
          8000,
        );
      }
      renderAll();
    },
    policy_changed: (msg) => {
      const wasAllowed = app.mayUnmute;
      app.mayUnmute = msg.participants_may_unmute !== false;
      app.privateChatAllowed = msg.private_chat_allowed === true;
      if (!leads(app.role) && wasAllowed !== app.mayUnmute) {
        notice(
          app.mayUnmute
            ? 'You can unmute yourself again.'
            : 'A facilitator muted everyone. Raise your hand to ask to speak.',
          'info',
          8000,
        );
      }
      renderPanel();
      renderChatTargets();
    },
    room_changed: (msg) => {
      app.room = msg.room;
      const me = app.participants.get(app.participantId);
      if (me) me.room = msg.room;
      app.roomWith = Array.isArray(msg.with) ? msg.with : [];
      privateRoomChanged(msg.room);
      const others = (msg.with || []).map(nameOf).join(', ');
      let text = 'You are back with the group.';
      if (msg.room.startsWith('private-')) {
        // a real 1:1 talk; the bar above the video stays while it lasts
        for (const el of document.querySelectorAll('.notice[data-help]')) el.remove();
        text = `You are in a private conversation with ${others || 'a facilitator'}. The group cannot see or hear you.`;
      } else if (msg.room !== 'main') {
        text = breakoutWelcome(msg.room, others);
      }
      notice(text, 'info', 8000);
      renderAll();
    },
  };
}
