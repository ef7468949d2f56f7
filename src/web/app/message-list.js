// A room's messages, kept by id: a repeat (a rejoin's catch-up, a retried
// send) is ignored, a deleted one never comes back, and the highest id seen is
// what the next rejoin asks to continue from. A room has two: the live one, and
// the context a search hit opens in (shown instead of it meanwhile).

import { $ } from './dom.js';
import { messageItem } from './message-item.js';

const isMessage = (m) =>
  m !== null && typeof m === 'object' && Number.isInteger(m.id) && typeof m.user === 'string' && typeof m.body === 'string';

/**
 * `listId`: the <ol> it fills. `isOwn(message)`: whether it gets a Delete button.
 * `changed()`: after every change, for the history note.
 */
export function createMessageList({ listId = 'message-list', isOwn, changed = () => {} }) {
  const nodes = new Map(); // message id -> <li>
  const deleted = new Set(); // ids deleted before we saw them (a late new_msg must not resurrect one)
  let lastSeenId = 0;

  /** Inserts messages in id order, skipping any already shown (or deleted). */
  function add(messages) {
    const list = $(listId);
    for (const message of messages) {
      if (!isMessage(message)) continue;
      lastSeenId = Math.max(lastSeenId, message.id);
      if (nodes.has(message.id) || deleted.has(message.id)) continue;
      const node = messageItem(message, isOwn(message));
      nodes.set(message.id, node);
      insertInOrder(list, node, message.id);
    }
    changed();
  }

  function remove(id) {
    if (!Number.isInteger(id)) return;
    deleted.add(id);
    const node = nodes.get(id);
    // Focus must not vanish with the Delete button that had it: keyboard users continue in the composer.
    const hadFocus = node?.contains(document.activeElement) ?? false;
    node?.remove();
    nodes.delete(id);
    if (hadFocus) $('message-input').focus();
    changed();
  }

  return {
    add,
    remove,
    isMessage,
    /** A full page after last_seen_id may leave a gap before it: start over from it. */
    reset() {
      nodes.clear();
      $(listId).replaceChildren();
    },
    /** The shown <li> of a message, or undefined. */
    node(id) {
      return nodes.get(id);
    },
    get lastSeenId() {
      return lastSeenId;
    },
    get size() {
      return nodes.size;
    },
    /** The oldest id shown, where paging back starts; null when there is none. */
    oldestId() {
      const first = $(listId).firstElementChild;
      return first === null ? null : Number(first.dataset.id);
    },
  };
}

/** Ids grow with time, so new messages land at the end and the walk back is short. */
function insertInOrder(list, node, id) {
  let before = list.lastElementChild;
  while (before !== null && Number(before.dataset.id) > id) before = before.previousElementSibling;
  if (before === null) list.prepend(node);
  else before.after(node);
}
