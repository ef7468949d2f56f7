// "alice is typing…" under the messages: the room's `typing { user }`
// broadcasts, each name shown for 5 s or until that person's next message
// (typing-state.js decides; this shows it and keeps a timer for the next change).

import { $ } from './dom.js';
import { nextExpiry, noneTyping, spoke, typed, typingLine, typingNow } from './typing-state.js';

/** `isMe(name)`: the server tells the sender's other tabs too; nobody needs to be told they are typing. */
export function createTypingIndicator(channel, whileOpen, isMe) {
  let state = noneTyping();
  let timer;

  function render() {
    clearTimeout(timer);
    const now = Date.now();
    $('typing-line').textContent = typingLine(typingNow(state, now));
    const next = nextExpiry(state, now);
    if (next !== null) timer = setTimeout(whileOpen(render), next - now);
  }

  channel.on(
    'typing',
    whileOpen(({ user }) => {
      if (typeof user !== 'string' || isMe(user)) return;
      state = typed(state, user, Date.now());
      render();
    }),
  );

  return {
    /** Their message is here: they are done typing it. */
    spoke(name) {
      const next = spoke(state, name);
      if (next === state) return;
      state = next;
      render();
    },
    stop() {
      clearTimeout(timer);
      state = noneTyping();
      $('typing-line').textContent = '';
    },
  };
}
