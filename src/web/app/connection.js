// One socket for the page, its state always visible, and the server session
// behind it: who it is signed in as, and when it was restarted.

import { Socket } from '../phoenix.mjs';
import { $ } from './dom.js';
import { SIGNED } from './identity.js';
import { showNotice } from './notice.js';
import { signedToken } from './signed-token.js';

// Params are a closure: each reconnect sends the token as it is then (a fresh one after an expiry).
export const socket = new Socket('/socket', { params: () => (SIGNED ? { token: signedToken() ?? '' } : {}) });
let everConnected = false;
// The name this socket's server session is signed in as. A session is bound to
// one user, so signing in under another name needs a fresh connection.
let sessionUser = null;

export const signedInAs = () => sessionUser;

/** A room's join reply: the session is signed in as this name now. */
export const signedIn = (name) => {
  sessionUser = name;
};

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
// The admin API's kick closes every socket of a user with 1001 'kicked' (other
// 1001s are a node going down, where reconnecting at once is right).
const KICKED = { code: 1001, reason: 'kicked' };

/** Kicked: stop phoenix.js's reconnecting, say why, and leave coming back to the person. */
function showKicked() {
  socket.disconnect();
  const status = $('conn-status');
  status.hidden = false;
  status.textContent = 'disconnected';
  showNotice('You were disconnected by an administrator.', { sticky: true });
  const again = document.createElement('button');
  again.type = 'button';
  again.className = 'link';
  again.textContent = 'Reconnect';
  again.addEventListener('click', () => {
    $('notice').hidden = true;
    connect();
  });
  $('notice').append(' ', again);
}

socket.onClose((event) => {
  // A new connection gets a new server session, signed in by its first join.
  sessionUser = null;
  showConnection(false);
  if (event?.code === KICKED.code && event.reason === KICKED.reason) showKicked();
});
socket.onError(() => showConnection(false));

export function connect() {
  showConnection(false);
  socket.connect();
}

/** A fresh connection (and so a fresh server session); channels rejoin once it is open. */
export function reconnectSocket() {
  return new Promise((resolve) => {
    socket.disconnect(() => {
      sessionUser = null;
      socket.connect();
      resolve();
    });
  });
}

/**
 * A channel's phx_error with reason channel_crash: the server restarted this
 * socket's session actor. Says so until the channel's next join, which calls
 * `caughtUp`. Errors reach nothing while `isOpen()` is false.
 */
export function watchSessionRestarts(channel, isOpen = () => true) {
  let crashed = false;
  channel.onError((reason) => {
    if (reason?.reason !== 'channel_crash' || !isOpen()) return;
    crashed = true;
    // The restarted session has nobody signed in until a room rejoins.
    sessionUser = null;
    showNotice('The server restarted your session. Catching up...', { sticky: true });
  });
  return {
    caughtUp() {
      if (crashed) showNotice('Your session was restarted on the server. You are back and caught up.');
      crashed = false;
    },
  };
}
