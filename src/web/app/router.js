// Where the page is: "/" is the landing page, "/rooms/<name>" a room. The URL
// decides the view (on load, on back/forward, after a link or a sign-in).

import { reconnectSocket, signedInAs } from './connection.js';
import { $ } from './dom.js';
import { SIGNED, saveUsername, savedUsername } from './identity.js';
import { createLanding } from './landing.js';
import { createRoom } from './room.js';
import { roomProblem, usernameProblem } from './rules.js';
import { signedProblem } from './signed-token.js';
import { clearSigninErrors, showFieldError, showJoinFailure, showSigninError } from './signin-form.js';
import { currentView, show } from './views.js';

const roomPath = (name) => `/rooms/${encodeURIComponent(name)}`;
/** Bumped by every navigation: a join answered after the user went elsewhere is stale. */
let navigation = 0;

/**
 * Joins `name` as `username`. Resolves { ok } once the first join is answered,
 * { ok: false, response } on a refusal, { stale } if the user went elsewhere meanwhile.
 */
async function enterRoom(name, username, { showNow }) {
  const attempt = ++navigation;
  // A server session is bound to one user: another name needs a fresh connection.
  const signedIn = signedInAs();
  if (signedIn !== null && signedIn.toLowerCase() !== username.toLowerCase()) await reconnectSocket();
  const room = createRoom(name, username, { onRefused: (response) => backToLanding(name, response) });
  if (showNow) show(room);
  const result = await room.firstJoin;
  if (attempt !== navigation) {
    if (currentView() !== room) room.stop();
    return { stale: true };
  }
  if (!result.ok) {
    room.stop();
    return result;
  }
  saveUsername(signedInAs() ?? username);
  if (currentView() !== room) show(room);
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

export function navigate(path) {
  if (path === location.pathname) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

/** Makes the view match the URL. */
export async function render() {
  const route = parseRoute(location.pathname);
  const current = currentView();
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

/** The landing page's form: checked here first to save a round trip, then the join decides. */
export async function onSigninSubmit(event) {
  event.preventDefault();
  clearSigninErrors();
  const username = SIGNED ? (savedUsername() ?? '') : $('username').value.trim();
  // Room names are lowercase; accepting "General" as "general" is kinder than refusing it.
  const room = $('room').value.trim().toLowerCase();
  if (SIGNED && signedProblem() !== null) {
    showSigninError(signedProblem());
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
