// Who is typing, as the room shows it: pure data, the clock passed in. A name
// is shown for TYPING_SHOWN_MS after its last `typing`, or until its next
// message arrives (whichever comes first).

export const TYPING_SHOWN_MS = 5000;

/** The state is a Map, name -> when it stops being shown; every change returns a new one. */
export const noneTyping = () => new Map();

export function typed(state, name, now) {
  const next = new Map(state);
  // Re-inserted, so names keep the order in which they last started typing.
  next.delete(name);
  next.set(name, now + TYPING_SHOWN_MS);
  return next;
}

export function spoke(state, name) {
  if (!state.has(name)) return state;
  const next = new Map(state);
  next.delete(name);
  return next;
}

/** The names still shown at `now`, in the order they started typing. */
export const typingNow = (state, now) => [...state].filter(([, until]) => until > now).map(([name]) => name);

/** When the next name goes (to set a timer for); null when nobody is shown. */
export function nextExpiry(state, now) {
  const ends = [...state.values()].filter((until) => until > now);
  return ends.length === 0 ? null : Math.min(...ends);
}

/** The line under the messages. */
export function typingLine(names) {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}

/** The composer's side: at most one `typing` push per interval (the server drops the rest anyway). */
export const TYPING_SEND_MS = 2000;

export const mayTellTyping = (lastSent, now) => lastSent === null || now - lastSent >= TYPING_SEND_MS;
