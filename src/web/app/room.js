// One room: the channel and its (re)joins, the messages by id, who is here,
// paging back, sending and deleting, search, who is typing. Nothing is lost or
// doubled across reconnects and session restarts: every rejoin asks for what
// came after the highest id seen (join params are a closure, so phoenix.js
// re-evaluates them).
// A search hit opens in its context instead of the live list (context-view.js).

import { Presence } from '../phoenix.mjs';
import { clearComposer, createComposer } from './composer.js';
import { signedIn, socket, watchSessionRestarts } from './connection.js';
import { createContextView } from './context-view.js';
import { $ } from './dom.js';
import { describeError } from './errors.js';
import { SIGNED, browserToken } from './identity.js';
import { createMessageList } from './message-list.js';
import { showNotice } from './notice.js';
import { clearOnline, renderOnline, renderSummary } from './online-list.js';
import { keepScrollAnchor, nearBottom, offerJumpToLatest, scrollToBottom } from './scroll.js';
import { createSearch } from './search.js';
import { createTypingIndicator } from './typing.js';
import { showWhoami } from './views.js';

// Page sizes of the contract: a shorter page means "no more".
const RECENT_LIMIT = 500;
const PAGE_LIMIT = 50;

/** `onRefused(response)`: a rejoin refused for good (the name is someone else's now). */
export function createRoom(name, username, { onRefused }) {
  let user = null; // { id, name } from the join reply
  let joinedOnce = false;
  let exhausted = false; // no older messages left on the server
  let loadingOlder = false;
  let stopped = false;

  // The view's elements are shared by every room: a late event or reply for a room already left must not touch them.
  const whileOpen =
    (handler) =>
    (...args) => {
      if (!stopped) handler(...args);
    };
  const isOwn = (message) => user !== null && message.user.toLowerCase() === user.name.toLowerCase();
  const messages = createMessageList({ isOwn, changed: renderHistoryState });

  const joinParams = () => ({
    ...(SIGNED ? {} : { username, token: browserToken() }),
    ...(joinedOnce ? { last_seen_id: messages.lastSeenId } : {}),
  });
  const channel = socket.channel(`room:${name}`, joinParams);
  const presence = new Presence(channel);
  const restarts = watchSessionRestarts(channel, () => !stopped);
  const composer = createComposer(channel, whileOpen);
  const search = createSearch(channel, whileOpen);
  const context = createContextView({ channel, whileOpen, isOwn, search, changed: renderHistoryState });
  let settleFirstJoin;
  const firstJoin = new Promise((resolve) => (settleFirstJoin = resolve));

  channel.on('new_msg', whileOpen(addLive));
  channel.on('msg_deleted', whileOpen(({ id }) => removeEverywhere(id)));
  // From the people who run the server; it stays until another notice replaces it.
  channel.on('announcement', whileOpen(({ body }) => showNotice(`Announcement: ${body}`, { sticky: true })));
  // A large room sends presence_summary instead of a list (and no diffs): shown until a presence_state comes again.
  // Presence handles that state first (its handler was bound first), then this one shows the list it made.
  let large = false;
  const me = () => user?.name.toLowerCase() ?? username.toLowerCase();
  const typing = createTypingIndicator(channel, whileOpen, (name) => name.toLowerCase() === me());
  presence.onSync(
    whileOpen(() => {
      if (!large) renderOnline(presence, me());
    }),
  );
  channel.on(
    'presence_summary',
    whileOpen((summary) => {
      large = true;
      renderSummary(summary, me());
    }),
  );
  channel.on(
    'presence_state',
    whileOpen(() => {
      if (!large) return;
      large = false;
      renderOnline(presence, me());
    }),
  );
  channel.join().receive('ok', onJoined).receive('error', onJoinError);
  // A join timeout needs nothing here: phoenix.js retries, and the status line shows the connection.

  function onJoined(response) {
    if (stopped) return;
    user = response.user;
    signedIn(response.user.name);
    const page = Array.isArray(response.messages) ? response.messages : [];
    if (!joinedOnce) {
      joinedOnce = true;
      exhausted = page.length < RECENT_LIMIT;
      messages.add(page);
      scrollToBottom();
      showWhoami(response.user.name);
      settleFirstJoin({ ok: true });
    } else {
      if (page.length >= RECENT_LIMIT) {
        // Older ones load on scroll.
        messages.reset();
        exhausted = false;
      }
      const follow = !context.showing && nearBottom();
      messages.add(page);
      if (follow) scrollToBottom();
      else if (page.length > 0) noteNewMessages();
    }
    renderHistoryState();
    restarts.caughtUp();
  }

  function onJoinError(response) {
    if (stopped) return;
    if (!joinedOnce) {
      // Nobody is looking at a room that never opened: stop phoenix.js retrying, let the caller explain.
      channel.leave();
      settleFirstJoin({ ok: false, response });
      return;
    }
    // Refused for good on a rejoin (the server closed the channel): back to the form, with the reason.
    if (response.reason === 'username_taken' || response.reason === 'invalid_params') return onRefused(response);
    // Worth retrying (db_unavailable...): phoenix.js rejoins by itself.
    showNotice(`Could not rejoin #${name}: ${describeError(response)} Retrying...`);
  }

  function addLive(message) {
    if (!messages.isMessage(message)) return;
    typing.spoke(message.user);
    const follow = !context.showing && (nearBottom() || isOwn(message));
    messages.add([message]);
    if (follow) scrollToBottom();
    else noteNewMessages();
  }

  /** Messages came where the reader is not looking: below (live), or in the live room (context). */
  function noteNewMessages() {
    if (context.showing) context.noteNewMessages();
    else offerJumpToLatest(true);
  }

  function removeEverywhere(id) {
    messages.remove(id);
    context.remove(id);
    search.remove(id);
  }

  /** Older messages, when scrolled to the top. */
  function loadOlder() {
    if (loadingOlder || exhausted || !joinedOnce || stopped || context.showing) return;
    const before = messages.oldestId();
    if (before === null) {
      exhausted = true;
      renderHistoryState();
      return;
    }
    loadingOlder = true;
    renderHistoryState();
    const done = () => {
      loadingOlder = false;
      renderHistoryState();
    };
    channel
      .push('load_older', { before_id: before })
      .receive(
        'ok',
        whileOpen(({ messages: older }) => {
          const page = Array.isArray(older) ? older : [];
          keepScrollAnchor(() => messages.add(page));
          exhausted = page.length < PAGE_LIMIT;
          done();
        }),
      )
      .receive(
        'error',
        whileOpen((response) => {
          done();
          showNotice(`Could not load older messages: ${describeError(response)}`);
        }),
      )
      .receive('timeout', whileOpen(done));
  }

  function renderHistoryState() {
    const note = $('history-note');
    $('history-state').hidden = context.showing;
    $('load-older').hidden = exhausted || loadingOlder || !joinedOnce;
    if (!joinedOnce) note.textContent = `Joining #${name}...`;
    else if (loadingOlder) note.textContent = 'Loading older messages...';
    else if (exhausted) note.textContent = messages.size === 0 ? `No messages in #${name} yet. Say hello!` : `This is the beginning of #${name}.`;
    else note.textContent = '';
  }

  function deleteMessage(id, button) {
    button.disabled = true;
    const failed = (response) => {
      button.disabled = false;
      showNotice(`Could not delete: ${describeError(response)}`);
    };
    channel
      .push('delete_msg', { id })
      .receive('ok', whileOpen(() => removeEverywhere(id)))
      .receive('error', whileOpen(failed))
      .receive('timeout', whileOpen(() => failed({ reason: 'timeout' })));
  }

  // The view starts empty: these elements are shared by every room.
  $('room-title').textContent = `#${name}`;
  $('message-list').replaceChildren();
  context.clear();
  $('search-input').value = '';
  search.close();
  typing.stop();
  clearOnline();
  clearComposer();
  offerJumpToLatest(false);
  renderHistoryState();

  return {
    kind: 'room',
    name,
    firstJoin,
    send: composer.send,
    typing: composer.typing,
    loadOlder,
    deleteMessage,
    search: search.search,
    moreResults: search.more,
    closeSearch: search.close,
    showResults() {
      search.show();
      $('back-to-results').hidden = true;
    },
    openHit(id) {
      if (joinedOnce) context.open(id);
    },
    backToLatest: context.back,
    // A hidden list has no height to scroll: the first join may have landed before the view was shown.
    shown() {
      scrollToBottom();
      $('message-input').focus();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      // Anyone still waiting on the first join learns it will not come.
      settleFirstJoin({ ok: false, response: { reason: 'left' } });
      channel.leave();
      typing.stop();
      showWhoami(null);
    },
  };
}
