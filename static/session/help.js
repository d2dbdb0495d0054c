// Leaders: help requests from participants and calls from breakout rooms, as banners.
import { $ } from '../lib/dom.js';
import { timeOfDay } from '../lib/format.js';
import { actionButton } from './network.js';
import { app, leads, nameOf } from './state.js';

/** Leaders only: one banner per open help request, with the ways to answer it. */
export function renderHelpAlerts() {
  const box = $('help-alerts');
  if (!leads(app.role)) {
    box.replaceChildren();
    return;
  }
  box.replaceChildren(
    ...[...app.helpRequests.entries()].map(([pid, at]) => {
      const div = document.createElement('div');
      div.className = 'help-alert';
      div.dataset.participantId = pid;
      const when = timeOfDay(at);
      const text = document.createElement('p');
      text.textContent = `${nameOf(pid)} asked for help privately (${when}). Only facilitators see this.`;
      div.append(
        text,
        actionButton('Talk privately now', { action: 'private_room', target: pid }),
        actionButton('Mark as handled', { action: 'help_resolved', target: pid }),
      );
      return div;
    }),
    ...[...app.roomHelp.values()].map((call) => {
      const div = document.createElement('div');
      div.className = 'help-alert room-help';
      const text = document.createElement('p');
      text.textContent = `${nameOf(call.participant_id)} in ${call.room_name} asks you to join the room.`;
      const join = actionButton(`Join ${call.room_name}`, {
        action: 'breakout_visit',
        room: call.room,
      });
      const dismiss = document.createElement('button');
      dismiss.type = 'button';
      dismiss.className = 'btn small';
      dismiss.textContent = 'Dismiss';
      for (const btn of [join, dismiss]) {
        btn.addEventListener('click', () => {
          app.roomHelp.delete(call.participant_id);
          renderHelpAlerts();
        });
      }
      div.append(text, join, dismiss);
      return div;
    }),
  );
}
