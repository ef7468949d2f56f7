// A search hit in its context (load_around): 25 messages each side of it, in a
// list of its own shown instead of the live one, the hit marked and scrolled
// to. The live list keeps taking new messages meanwhile; "Back to latest"
// shows it again, as it is by then. Either list is the room's, so no rejoin.

import { $ } from './dom.js';
import { describeError } from './errors.js';
import { createMessageList } from './message-list.js';
import { showNotice } from './notice.js';
import { offerJumpToLatest, scrollToBottom } from './scroll.js';

// A phone has no room for results and messages side by side: there the results wait behind "Results".
const narrow = () => window.matchMedia('(max-width: 720px)').matches;

/** `changed()`: after the view switches, for the history note (hidden in a context). */
export function createContextView({ channel, whileOpen, isOwn, search, changed }) {
  const list = createMessageList({ listId: 'context-list', isOwn });
  let viewing = null; // the hit's id; null: the live room
  let asking = 0; // a load_around answered after a later one (or Back to latest) is dropped

  function show(id, page) {
    viewing = id;
    list.reset();
    list.add(page);
    $('message-list').hidden = true;
    $('context-list').hidden = false;
    $('context-bar').hidden = false;
    $('context-note').textContent = 'A message from your search.';
    search.current(id);
    offerJumpToLatest(false);
    changed();
    const hidesResults = narrow();
    if (hidesResults) search.hide();
    $('back-to-results').hidden = !search.waiting();
    const hit = list.node(id);
    if (hit === undefined) return;
    hit.classList.add('is-hit');
    hit.setAttribute('aria-current', 'true');
    hit.scrollIntoView({ block: 'center' });
    // The result that had focus is hidden now: focus goes to the message it opened.
    if (hidesResults) {
      hit.tabIndex = -1;
      hit.focus({ preventScroll: true });
    }
  }

  return {
    /** Whether a context is shown instead of the live room. */
    get showing() {
      return viewing !== null;
    },
    open(id) {
      if (!Number.isInteger(id)) return;
      const asked = ++asking;
      const failed = (response) => asked === asking && showNotice(`Could not open that message: ${describeError(response)}`);
      channel
        .push('load_around', { id })
        .receive('ok', whileOpen(({ messages }) => asked === asking && show(id, Array.isArray(messages) ? messages : [])))
        .receive('error', whileOpen(failed))
        .receive('timeout', whileOpen(() => failed({ reason: 'timeout' })));
    },
    /** The live room again, at its newest message. */
    back() {
      asking += 1;
      if (viewing === null) return;
      viewing = null;
      search.current(null);
      $('context-list').hidden = true;
      $('context-bar').hidden = true;
      $('message-list').hidden = false;
      list.reset();
      changed();
      scrollToBottom();
      $('message-input').focus();
    },
    /** Messages came into the live room while a context is shown. */
    noteNewMessages() {
      $('context-note').textContent = 'New messages came in since.';
    },
    remove(id) {
      list.remove(id);
    },
    /** The view as a new room finds it. */
    clear() {
      $('message-list').hidden = false;
      $('context-list').replaceChildren();
      $('context-list').hidden = true;
      $('context-bar').hidden = true;
    },
  };
}
