// The browser client: one page, two views (landing, room), the stock phoenix.js
// underneath. Contract: README.md, "The chat over Phoenix Channels".
//
// Rules this file keeps everywhere:
// - User data (names, message bodies) only ever reaches the DOM through
//   textContent or attributes, never innerHTML: a message is text, not markup.
// - The server is authoritative: client-side checks only save a round trip,
//   and every error the server replies with is shown as it says.
// - Nothing lost or doubled across reconnects and session restarts: each room
//   remembers the highest message id it has seen and hands it to every rejoin
//   (join params are a closure, so phoenix.js re-evaluates them), and messages
//   are kept by id so a repeat is ignored.

import { Socket, Presence } from '/assets/phoenix.mjs';

// Limits from the contract, to interpret replies (a shorter page means "no more").
const RECENT_LIMIT = 500;
const PAGE_LIMIT = 50;
const BODY_MAX = 500;
const DEFAULT_ROOM = 'lobby';
const NOTICE_MS = 8000;
// A send that timed out or met a database outage is tried again this many times (same nonce: stored once).
const SEND_RETRIES = 3;

const $ = (id) => document.getElementById(id);

/** A DOM element with text set safely (textContent) and optional attributes. */
function el(tag, { className, text, attrs } = {}) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attrs ?? {})) node.setAttribute(name, value);
  return node;
}

// ---------------------------------------------------------------------------
// Identity. By default the username and a random token live in localStorage so
// every tab of this browser shares them: the token is what owns the name on the
// server (NAMES=claim: for good; NAMES=open: while this browser is online).
// When the server takes signed tokens (AUTH_JWT_*), the application that has
// the accounts opens this page with #token=<jwt>: the token says who this is,
// and there is no name to pick. The server tells which in <html data-*>.

const SIGNED = document.documentElement.dataset.auth === 'jwt';
const NAMES_OPEN = document.documentElement.dataset.names === 'open';
const SIGNED_KEY = 'otp-chat.signed-token';

const USERNAME_KEY = 'otp-chat.username';
const TOKEN_KEY = 'otp-chat.token';
const TOKEN_RE = /^[A-Za-z0-9_-]{16,128}$/;
// 64 symbols, so masking a random byte with 63 picks each one with equal chance.
const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

// Storage can be unavailable (some privacy modes throw): fall back to this tab's memory.
const memoryStore = new Map();

function storageGet(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return memoryStore.get(key) ?? null;
  }
}

function storageSet(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    memoryStore.set(key, value);
  }
}

function randomToken(length = 32) {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (byte) => TOKEN_ALPHABET[byte & 63]).join('');
}

/** Read on every join rather than cached, so tabs converge on whichever token was stored. */
function browserToken() {
  const stored = storageGet(TOKEN_KEY);
  if (stored !== null && TOKEN_RE.test(stored)) return stored;
  const token = randomToken();
  storageSet(TOKEN_KEY, token);
  return token;
}

function savedUsername() {
  if (SIGNED) return signedUser()?.name ?? null;
  const name = storageGet(USERNAME_KEY);
  return name !== null && usernameProblem(name) === null ? name : null;
}

/** The signed token this tab was given (#token=... once, then sessionStorage), or null. */
function signedToken() {
  const given = /(?:^#|&)token=([A-Za-z0-9_.-]+)/.exec(location.hash);
  if (given !== null) {
    try {
      sessionStorage.setItem(SIGNED_KEY, given[1]);
    } catch {
      memoryStore.set(SIGNED_KEY, given[1]);
    }
    history.replaceState(history.state, '', location.pathname + location.search);
    return given[1];
  }
  try {
    return sessionStorage.getItem(SIGNED_KEY);
  } catch {
    return memoryStore.get(SIGNED_KEY) ?? null;
  }
}

/** What the token says (read, not verified: the server verifies it), or null if there is none that reads. */
function signedUser() {
  const token = signedToken();
  if (token === null) return null;
  try {
    const part = token.split('.')[1].replaceAll('-', '+').replaceAll('_', '/');
    const claims = JSON.parse(atob(part));
    return typeof claims.name === 'string' ? { name: claims.name, exp: typeof claims.exp === 'number' ? claims.exp : null } : null;
  } catch {
    return null;
  }
}

/** Why this tab cannot sign in with a signed token, or null when it can. */
function signedProblem() {
  const user = signedUser();
  if (user === null) return 'You are not signed in: open this chat from the application you use it with.';
  if (user.exp !== null && user.exp * 1000 <= Date.now()) return 'Your sign-in has expired: open this chat again from your application.';
  return null;
}

// ---------------------------------------------------------------------------
// The server's input rules, mirrored to answer early. The server still decides.

function usernameProblem(name) {
  if (name === '') return 'Enter a username.';
  if (name.length > 30) return 'Use at most 30 characters.';
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) return 'Use only letters, digits, _ - and . (no spaces).';
  return null;
}

function roomProblem(name) {
  if (name === '') return 'Enter a room name.';
  if (name.length > 32) return 'Use at most 32 characters.';
  if (!/^[a-z0-9_-]+$/.test(name)) return 'Use only a-z, 0-9, _ and -.';
  return null;
}

// Code points, as the server counts them (an emoji is one character, not two).
const bodyLength = (body) => [...body].length;

/** The server's messages are fragments ("must be at most 500 characters"): end them once. */
const sentence = (text) => (/[.!?]$/.test(text) ? text : `${text}.`);

/** A sentence for an error reply, in the user's terms. */
function describeError(response, subject = '') {
  const reason = response?.reason;
  switch (reason) {
    case 'invalid_params': {
      const details = Object.values(response.errors ?? {}).filter((text) => typeof text === 'string');
      return details.length > 0 ? sentence(`${subject}${details.join('; ')}`) : 'The server did not accept that.';
    }
    case 'username_taken':
      if (SIGNED) return 'Your name is in use by another account here.';
      return NAMES_OPEN
        ? 'This name is in use right now by someone in another browser. Pick another name, or wait until they leave.'
        : 'This name is taken by someone in another browser. Pick another name.';
    case 'too_many_tabs':
      return `You have this room open in too many tabs (at most ${Number.isInteger(response.limit) ? response.limit : 'a few'}). Close one and try again.`;
    case 'unavailable':
      return 'The server cannot tell right now whose this name is. Try again in a moment.';
    case 'rate_limited':
      return 'You are sending too fast. Wait a moment and try again.';
    case 'db_unavailable':
      return 'The server cannot reach its database right now. Try again in a moment.';
    case 'forbidden':
      return 'You can only delete your own messages.';
    case 'not_found':
      return 'That message does not exist any more.';
    case 'timeout':
      return 'No answer from the server. Try again.';
    default:
      return `The server refused: ${typeof reason === 'string' ? reason : 'unknown error'}.`;
  }
}

// ---------------------------------------------------------------------------
// Connection: one socket for the page. Its state is always visible.

// Params are a closure: each reconnect sends the token as it is then (a fresh one after an expiry).
const socket = new Socket('/socket', { params: () => (SIGNED ? { token: signedToken() ?? '' } : {}) });
let everConnected = false;
// The name this socket's server session is signed in as. A session is bound to
// one user, so signing in under another name needs a fresh connection.
let socketUser = null;

function showConnection(up) {
  const status = $('conn-status');
  status.hidden = up;
  status.textContent = up ? '' : everConnected ? 'reconnecting...' : 'connecting...';
  document.body.classList.toggle('offline', !up);
}

socket.onOpen(() => {
  everConnected = true;
  showConnection(true);
});
socket.onClose(() => {
  // A new connection gets a new server session, signed in by its first join.
  socketUser = null;
  showConnection(false);
});
socket.onError(() => showConnection(false));

/** A fresh connection (and so a fresh server session); channels rejoin once it is open. */
function reconnectSocket() {
  return new Promise((resolve) => {
    socket.disconnect(() => {
      socketUser = null;
      socket.connect();
      resolve();
    });
  });
}

// ---------------------------------------------------------------------------
// Notices: short messages about the connection that go away by themselves.

let noticeTimer;

function showNotice(text, { sticky = false } = {}) {
  const notice = $('notice');
  clearTimeout(noticeTimer);
  notice.textContent = text;
  notice.hidden = false;
  if (!sticky) noticeTimer = setTimeout(() => (notice.hidden = true), NOTICE_MS);
}

/** phx_error with reason channel_crash: the server restarted this socket's session actor. */
const isSessionCrash = (reason) => reason?.reason === 'channel_crash';

function onSessionCrash() {
  // The restarted session has nobody signed in until a room rejoins.
  socketUser = null;
  showNotice('The server restarted your session. Catching up...', { sticky: true });
}

function onSessionRecovered() {
  showNotice('Your session was restarted on the server. You are back and caught up.');
}

// ---------------------------------------------------------------------------
// Views: exactly one controller is current; showing another stops it.

let current = null;

function show(controller) {
  if (current !== null && current !== controller) current.stop();
  current = controller;
  $('landing').hidden = controller.kind !== 'landing';
  $('room-view').hidden = controller.kind !== 'room';
  controller.shown();
}

function showWhoami(name) {
  const whoami = $('whoami');
  whoami.hidden = name === null;
  whoami.textContent = name === null ? '' : `signed in as ${name}`;
}

// ---------------------------------------------------------------------------
// Landing: users:lobby gives the users seen most recently, a page at a time, and
// the total; presence says who is online.

function createLanding({ room = DEFAULT_ROOM, failure = null } = {}) {
  const users = new Set();
  let total = 0;
  let next = null; // the cursor of the next page, null when there is none
  const channel = socket.channel('users:lobby', {});
  const presence = new Presence(channel);
  let stopped = false;

  const addPage = (response) => {
    for (const user of response.users ?? []) if (typeof user?.name === 'string') users.add(user.name);
    if (Number.isInteger(response.total)) total = response.total;
    next = typeof response.next === 'string' ? response.next : null;
  };

  channel.on('user_joined', ({ name }) => {
    if (typeof name === 'string' && !users.has(name)) {
      users.add(name);
      total += 1;
    }
    renderPeople();
  });
  presence.onSync(() => renderPeople());
  let crashed = false;
  channel.onError((reason) => {
    if (!isSessionCrash(reason)) return;
    crashed = true;
    onSessionCrash();
  });
  channel
    .join()
    .receive('ok', (response) => {
      addPage(response);
      renderPeople();
      if (crashed) onSessionRecovered();
      crashed = false;
    })
    .receive('error', (response) => showNotice(`Could not load the list of people: ${describeError(response)}`));

  function renderPeople() {
    // The people list is shared page furniture: a landing already left must not redraw it.
    if (stopped) return;
    const online = new Set(presence.list((name) => name));
    const names = [...new Set([...users, ...online])].sort(
      (a, b) => Number(online.has(b)) - Number(online.has(a)) || a.localeCompare(b, undefined, { sensitivity: 'base' }),
    );
    const me = savedUsername()?.toLowerCase();
    const list = $('people-list');
    list.replaceChildren(...names.map((name) => personItem(name, online.has(name), name.toLowerCase() === me)));
    $('people-counts').textContent = `${online.size} online · ${Math.max(total, names.length)} total`;
    $('people-empty').hidden = names.length > 0;
    $('people-more').hidden = next === null;
  }

  function loadMore() {
    if (next === null) return;
    const button = $('people-more');
    button.disabled = true;
    channel
      .push('load_users', { after: next })
      .receive('ok', (response) => {
        if (stopped) return;
        addPage(response);
        button.disabled = false;
        renderPeople();
      })
      .receive('error', (response) => {
        button.disabled = false;
        showNotice(`Could not load more people: ${describeError(response)}`);
      })
      .receive('timeout', () => {
        button.disabled = false;
      });
  }

  // Form: prefilled with what this browser used last, and the room asked for. With a signed token there is no name to pick.
  $('username').value = savedUsername() ?? '';
  $('username-field').hidden = SIGNED;
  $('room').value = room;
  clearSigninErrors();
  if (failure !== null) showJoinFailure(failure);
  showWhoami(SIGNED ? savedUsername() : null);
  if (SIGNED && signedProblem() !== null) showNotice(signedProblem(), { sticky: true });
  renderPeople();

  return {
    kind: 'landing',
    loadMore,
    shown: () => (SIGNED || (failure?.reason === 'invalid_params' && failure.errors?.topic) ? $('room') : $('username')).focus(),
    stop: () => {
      if (stopped) return;
      stopped = true;
      channel.leave();
    },
  };
}

function personItem(name, isOnline, isMe) {
  const item = el('li', { className: `person ${isOnline ? 'is-online' : 'is-offline'}` });
  item.append(
    el('span', { className: 'dot', attrs: { 'aria-hidden': 'true' } }),
    el('span', { className: 'name', text: name }),
  );
  if (isMe) item.append(el('span', { className: 'you', text: '(you)' }));
  item.append(el('span', { className: 'state', text: isOnline ? 'online' : 'offline' }));
  return item;
}

function clearSigninErrors() {
  for (const id of ['username', 'room']) {
    $(`${id}-error`).textContent = '';
    $(id).removeAttribute('aria-invalid');
  }
  $('signin-error').textContent = '';
}

function showFieldError(field, text) {
  $(`${field}-error`).textContent = text;
  $(field).setAttribute('aria-invalid', 'true');
}

/** A refused room join, shown where it belongs: next to the field it is about. */
function showJoinFailure(response) {
  if (response.reason === 'username_taken') return showFieldError('username', describeError(response));
  if (response.reason === 'invalid_params') {
    const errors = response.errors ?? {};
    if (typeof errors.username === 'string') showFieldError('username', sentence(`Username ${errors.username}`));
    if (typeof errors.topic === 'string') showFieldError('room', sentence(`The ${errors.topic}`));
    const rest = Object.entries(errors).filter(([field]) => field !== 'username' && field !== 'topic');
    if (rest.length > 0) $('signin-error').textContent = sentence(rest.map(([field, text]) => `${field} ${text}`).join('; '));
    return;
  }
  $('signin-error').textContent = describeError(response);
}

async function onSigninSubmit(event) {
  event.preventDefault();
  clearSigninErrors();
  const username = SIGNED ? (savedUsername() ?? '') : $('username').value.trim();
  // Room names are lowercase; accepting "General" as "general" is kinder than refusing it.
  const room = $('room').value.trim().toLowerCase();
  if (SIGNED && signedProblem() !== null) {
    $('signin-error').textContent = signedProblem();
    return;
  }
  const usernameError = SIGNED ? null : usernameProblem(username);
  const roomError = roomProblem(room);
  if (usernameError) showFieldError('username', usernameError);
  if (roomError) showFieldError('room', roomError);
  if (usernameError || roomError) {
    $(usernameError ? 'username' : 'room').focus();
    return;
  }
  const button = $('signin-submit');
  button.disabled = true;
  button.textContent = 'Joining...';
  const result = await enterRoom(room, username, { showNow: false });
  button.disabled = false;
  button.textContent = 'Enter room';
  if (result.stale) return;
  if (result.ok) navigate(roomPath(room));
  else showJoinFailure(result.response);
}

// ---------------------------------------------------------------------------
// Room: messages by id, presence with tabs per user, the composer.

function createRoom(name, username) {
  const state = {
    user: null, // { id, name } from the join reply
    nodes: new Map(), // message id -> <li>, the de-duplication key
    deleted: new Set(), // ids deleted before we saw them (a late new_msg must not resurrect one)
    lastSeenId: 0,
    joinedOnce: false,
    exhausted: false, // no older messages left on the server
    loadingOlder: false,
    sending: false,
    crashed: false,
    stopped: false,
  };

  // A closure: phoenix.js calls it for every (re)join, so a rejoin asks only for what we missed.
  const joinParams = () => ({
    ...(SIGNED ? {} : { username, token: browserToken() }),
    ...(state.joinedOnce ? { last_seen_id: state.lastSeenId } : {}),
  });
  const channel = socket.channel(`room:${name}`, joinParams);
  const presence = new Presence(channel);
  let settleFirstJoin;
  const firstJoin = new Promise((resolve) => (settleFirstJoin = resolve));
  // The view's elements are shared by every room: a late event or reply for a room
  // already left must not touch them.
  const whileOpen =
    (handler) =>
    (...args) => {
      if (!state.stopped) handler(...args);
    };

  channel.on('new_msg', whileOpen(addLive));
  channel.on('msg_deleted', whileOpen(({ id }) => removeMessage(id)));
  presence.onSync(whileOpen(renderOnline));
  channel.onError((reason) => {
    if (!isSessionCrash(reason) || state.stopped) return;
    state.crashed = true;
    onSessionCrash();
  });
  channel
    .join()
    .receive('ok', onJoined)
    .receive('error', onJoinError);
  // A join timeout needs nothing here: phoenix.js retries, and the status line shows the connection.

  function onJoined(response) {
    if (state.stopped) return;
    state.user = response.user;
    socketUser = response.user.name;
    const messages = Array.isArray(response.messages) ? response.messages : [];
    if (!state.joinedOnce) {
      state.joinedOnce = true;
      state.exhausted = messages.length < RECENT_LIMIT;
      addMessages(messages);
      scrollToBottom();
      showWhoami(response.user.name);
      settleFirstJoin({ ok: true });
    } else {
      // A full page after last_seen_id may leave a gap before it: start over from it, older ones load on scroll.
      if (messages.length >= RECENT_LIMIT) resetMessages();
      const follow = nearBottom();
      addMessages(messages);
      if (follow) scrollToBottom();
      else if (messages.length > 0) $('jump-latest').hidden = false;
    }
    renderHistoryState();
    if (state.crashed) onSessionRecovered();
    state.crashed = false;
  }

  function onJoinError(response) {
    if (state.stopped) return;
    if (!state.joinedOnce) {
      // Nobody is looking at a room that never opened: stop phoenix.js retrying, let the caller explain.
      channel.leave();
      settleFirstJoin({ ok: false, response });
      return;
    }
    if (response.reason === 'username_taken' || response.reason === 'invalid_params') {
      // Refused for good on a rejoin (the server closed the channel): back to the form, with the reason.
      backToLanding(name, response);
      return;
    }
    // Worth retrying (db_unavailable...): phoenix.js rejoins by itself.
    showNotice(`Could not rejoin #${name}: ${describeError(response)} Retrying...`);
  }

  // --- messages ---

  const isMessage = (m) =>
    m !== null && typeof m === 'object' && Number.isInteger(m.id) && typeof m.user === 'string' && typeof m.body === 'string';

  /** Inserts messages in id order; an id already shown (or deleted) is skipped, so repeats are harmless. */
  function addMessages(messages) {
    const list = $('message-list');
    for (const message of messages) {
      if (!isMessage(message)) continue;
      state.lastSeenId = Math.max(state.lastSeenId, message.id);
      if (state.nodes.has(message.id) || state.deleted.has(message.id)) continue;
      const node = messageItem(message, isOwn(message));
      state.nodes.set(message.id, node);
      insertInOrder(list, node, message.id);
    }
    renderHistoryState();
  }

  function addLive(message) {
    if (!isMessage(message)) return;
    const follow = nearBottom() || isOwn(message);
    addMessages([message]);
    if (follow) scrollToBottom();
    else $('jump-latest').hidden = false;
  }

  function removeMessage(id) {
    if (!Number.isInteger(id)) return;
    state.deleted.add(id);
    const node = state.nodes.get(id);
    // Focus must not vanish with the Delete button that had it: keyboard users continue in the composer.
    const hadFocus = node?.contains(document.activeElement) ?? false;
    node?.remove();
    state.nodes.delete(id);
    if (hadFocus) $('message-input').focus();
    renderHistoryState();
  }

  function resetMessages() {
    state.nodes.clear();
    $('message-list').replaceChildren();
    state.exhausted = false;
  }

  const isOwn = (message) => state.user !== null && message.user.toLowerCase() === state.user.name.toLowerCase();

  // --- older messages, loaded when scrolled to the top ---

  function loadOlder() {
    if (state.loadingOlder || state.exhausted || !state.joinedOnce || state.stopped) return;
    const first = $('message-list').firstElementChild;
    if (first === null) {
      state.exhausted = true;
      renderHistoryState();
      return;
    }
    state.loadingOlder = true;
    renderHistoryState();
    const done = () => {
      state.loadingOlder = false;
      renderHistoryState();
    };
    channel
      .push('load_older', { before_id: Number(first.dataset.id) })
      .receive(
        'ok',
        whileOpen(({ messages }) => {
          const page = Array.isArray(messages) ? messages : [];
          keepScrollAnchor(() => addMessages(page));
          state.exhausted = page.length < PAGE_LIMIT;
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
    const button = $('load-older');
    const note = $('history-note');
    button.hidden = state.exhausted || state.loadingOlder || !state.joinedOnce;
    if (!state.joinedOnce) note.textContent = `Joining #${name}...`;
    else if (state.loadingOlder) note.textContent = 'Loading older messages...';
    else if (state.exhausted) note.textContent = state.nodes.size === 0 ? `No messages in #${name} yet. Say hello!` : `This is the beginning of #${name}.`;
    else note.textContent = '';
  }

  // --- who is here ---

  function renderOnline() {
    const people = presence
      .list((user, { metas }) => ({ user, tabs: metas.length }))
      .sort((a, b) => a.user.localeCompare(b.user, undefined, { sensitivity: 'base' }));
    const me = state.user?.name.toLowerCase() ?? username.toLowerCase();
    $('online-list').replaceChildren(...people.map(({ user, tabs }) => onlineItem(user, tabs, user.toLowerCase() === me)));
    $('online-count').textContent = `(${people.length})`;
  }

  // --- sending and deleting ---

  /**
   * Sends with a nonce of its own: a push that timed out or met a database
   * outage is sent again with the same nonce, and the server stores it once
   * however many of the attempts reached it.
   */
  function send() {
    const input = $('message-input');
    const body = input.value;
    if (body.trim() === '' || state.sending) return;
    state.sending = true;
    $('send').disabled = true;
    const nonce = randomToken(22);
    const finish = (error) => {
      state.sending = false;
      $('send').disabled = false;
      $('composer-error').textContent = error ?? '';
      if (error !== undefined) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    };
    const attempt = (tries) => {
      const retry = (error) => {
        if (tries >= SEND_RETRIES) return finish(error);
        $('composer-error').textContent = 'Not sent yet: trying again...';
        setTimeout(whileOpen(() => attempt(tries + 1)), 500 * 2 ** tries);
      };
      channel
        .push('new_msg', { body, nonce })
        .receive(
          'ok',
          whileOpen(() => {
            // Accepted: clear, unless the user has already started the next message.
            if (input.value === body) input.value = '';
            finish();
          }),
        )
        .receive(
          'error',
          whileOpen((response) => {
            const error = describeError(response, 'Not sent: message ');
            if (response?.reason === 'db_unavailable') retry(`Not sent: ${error}`);
            else finish(error);
          }),
        )
        .receive('timeout', whileOpen(() => retry(`Not sent: ${describeError({ reason: 'timeout' })}`)));
    };
    attempt(0);
  }

  function deleteMessage(id, button) {
    button.disabled = true;
    const failed = (response) => {
      button.disabled = false;
      showNotice(`Could not delete: ${describeError(response)}`);
    };
    channel
      .push('delete_msg', { id })
      .receive('ok', whileOpen(() => removeMessage(id)))
      .receive('error', whileOpen(failed))
      .receive('timeout', whileOpen(() => failed({ reason: 'timeout' })));
  }

  // The view starts empty: these elements are shared by every room.
  $('room-title').textContent = `#${name}`;
  $('message-list').replaceChildren();
  $('online-list').replaceChildren();
  $('online-count').textContent = '';
  $('composer-error').textContent = '';
  $('message-input').value = '';
  $('message-input').removeAttribute('aria-invalid');
  $('send').disabled = false;
  $('jump-latest').hidden = true;
  renderHistoryState();

  return {
    kind: 'room',
    name,
    firstJoin,
    send,
    loadOlder,
    deleteMessage,
    // A hidden list has no height to scroll: the first join may have landed before the view was shown.
    shown() {
      scrollToBottom();
      $('message-input').focus();
    },
    stop() {
      if (state.stopped) return;
      state.stopped = true;
      // Anyone still waiting on the first join learns it will not come.
      settleFirstJoin({ ok: false, response: { reason: 'left' } });
      channel.leave();
      showWhoami(null);
    },
  };
}

function onlineItem(user, tabs, isMe) {
  const item = el('li', { className: 'online-user' });
  item.append(el('span', { className: 'dot', attrs: { 'aria-hidden': 'true' } }), el('span', { className: 'name', text: user }));
  if (isMe) item.append(el('span', { className: 'you', text: '(you)' }));
  item.append(el('span', { className: 'tabs', text: tabs === 1 ? '1 tab' : `${tabs} tabs` }));
  return item;
}

/** One message, built from the template; every user-supplied string goes in as text. */
function messageItem(message, own) {
  const item = $('message-template').content.firstElementChild.cloneNode(true);
  item.dataset.id = String(message.id);
  item.querySelector('.author').textContent = message.user;
  const time = item.querySelector('.time');
  const date = new Date(message.inserted_at);
  if (!Number.isNaN(date.getTime())) {
    time.dateTime = date.toISOString();
    time.textContent = formatTime(date);
    time.title = date.toLocaleString();
  }
  item.querySelector('.body').textContent = message.body;
  if (own) {
    item.classList.add('own');
    const button = el('button', {
      className: 'delete',
      text: 'Delete',
      // Names the message, so a screen reader user knows which of several Delete buttons this is.
      attrs: { type: 'button', 'data-delete': String(message.id), 'aria-label': `Delete your message: ${excerpt(message.body)}` },
    });
    item.querySelector('.meta').append(button);
  }
  return item;
}

const excerpt = (text) => ([...text].length > 40 ? `${[...text].slice(0, 40).join('')}…` : text);

function formatTime(date) {
  const time = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (date.toDateString() === new Date().toDateString()) return time;
  return `${date.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`;
}

/** Ids grow with time, so new messages land at the end and the walk back is short. */
function insertInOrder(list, node, id) {
  let before = list.lastElementChild;
  while (before !== null && Number(before.dataset.id) > id) before = before.previousElementSibling;
  if (before === null) list.prepend(node);
  else before.after(node);
}

// --- scrolling ---

const scroller = () => $('message-scroll');

function nearBottom() {
  const box = scroller();
  return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
}

function scrollToBottom() {
  const box = scroller();
  box.scrollTop = box.scrollHeight;
  $('jump-latest').hidden = true;
}

/** Prepending older messages must not move what the reader is looking at. */
function keepScrollAnchor(change) {
  const box = scroller();
  const fromBottom = box.scrollHeight - box.scrollTop;
  change();
  box.scrollTop = box.scrollHeight - fromBottom;
}

function onMessagesScroll() {
  if (current?.kind !== 'room') return;
  if (scroller().scrollTop < 120) current.loadOlder();
  if (nearBottom()) $('jump-latest').hidden = true;
}

// ---------------------------------------------------------------------------
// Entering a room and routing: "/" is the landing page, "/rooms/<name>" a room.

const roomPath = (name) => `/rooms/${encodeURIComponent(name)}`;
let navigation = 0;

/**
 * Joins `name` as `username`. Resolves { ok } once the first join is answered,
 * { ok: false, response } on a refusal, { stale } if the user went elsewhere meanwhile.
 */
async function enterRoom(name, username, { showNow }) {
  const attempt = ++navigation;
  if (socketUser !== null && socketUser.toLowerCase() !== username.toLowerCase()) await reconnectSocket();
  const room = createRoom(name, username);
  if (showNow) show(room);
  const result = await room.firstJoin;
  if (attempt !== navigation) {
    if (current !== room) room.stop();
    return { stale: true };
  }
  if (!result.ok) {
    room.stop();
    return result;
  }
  storageSet(USERNAME_KEY, socketUser ?? username);
  if (current !== room) show(room);
  return result;
}

function backToLanding(room, failure) {
  navigation++;
  history.replaceState(null, '', '/');
  show(createLanding({ room, failure }));
}

function parseRoute(pathname) {
  const match = /^\/rooms\/([^/]+)\/?$/.exec(pathname);
  if (match === null) return { view: 'landing' };
  let name;
  try {
    name = decodeURIComponent(match[1]);
  } catch {
    return { view: 'landing' };
  }
  return roomProblem(name) === null ? { view: 'room', room: name } : { view: 'landing' };
}

function navigate(path) {
  if (path === location.pathname) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

/** Makes the view match the URL (on load, on back/forward, after navigate). */
async function render() {
  const route = parseRoute(location.pathname);
  if (route.view === 'landing') {
    navigation++;
    if (current?.kind !== 'landing') show(createLanding());
    return;
  }
  if (current?.kind === 'room' && current.name === route.room) return;
  const username = savedUsername();
  if (username === null) {
    // First visit straight to a room: ask for a name, then come back to it.
    navigation++;
    show(createLanding({ room: route.room }));
    return;
  }
  const result = await enterRoom(route.room, username, { showNow: true });
  if (!result.ok && !result.stale) backToLanding(route.room, result.response);
}

// ---------------------------------------------------------------------------
// Wiring: the DOM is static, so its listeners are bound once and act on the current view.

function onComposerSubmit(event) {
  event.preventDefault();
  if (current?.kind === 'room') current.send();
}

function onComposerInput() {
  const input = $('message-input');
  const length = bodyLength(input.value);
  // A warning only: the server is the one that refuses. Editing also clears the last refusal, which was about other text.
  const warning = length > BODY_MAX ? `Too long: ${length} characters, the limit is ${BODY_MAX}.` : '';
  $('composer-error').textContent = warning;
  if (warning === '') input.removeAttribute('aria-invalid');
  else input.setAttribute('aria-invalid', 'true');
}

function onMessageListClick(event) {
  const button = event.target.closest('button[data-delete]');
  if (button !== null && current?.kind === 'room') current.deleteMessage(Number(button.dataset.delete), button);
}

function onLinkClick(event) {
  const link = event.target.closest('a[data-link]');
  if (link === null || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(link.getAttribute('href'));
}

function boot() {
  $('signin-form').addEventListener('submit', onSigninSubmit);
  $('composer').addEventListener('submit', onComposerSubmit);
  $('message-input').addEventListener('input', onComposerInput);
  $('message-scroll').addEventListener('scroll', onMessagesScroll, { passive: true });
  $('message-list').addEventListener('click', onMessageListClick);
  $('load-older').addEventListener('click', () => current?.kind === 'room' && current.loadOlder());
  $('jump-latest').addEventListener('click', scrollToBottom);
  $('leave').addEventListener('click', () => navigate('/'));
  $('people-more').addEventListener('click', () => current?.kind === 'landing' && current.loadMore());
  document.addEventListener('click', onLinkClick);
  window.addEventListener('popstate', render);
  showConnection(false);
  socket.connect();
  render();
}

boot();
