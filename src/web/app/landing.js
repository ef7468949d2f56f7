// The landing page: the sign-in form (signin-form.js), the rooms directory
// (rooms-list.js) and the people list. users:lobby gives the users seen most
// recently, a page at a time, and the total; presence says who is online.

import { Presence } from '../phoenix.mjs';
import { socket, watchSessionRestarts } from './connection.js';
import { $, el } from './dom.js';
import { describeError } from './errors.js';
import { SIGNED, savedUsername } from './identity.js';
import { showNotice } from './notice.js';
import { signedProblem } from './signed-token.js';
import { createRoomsList } from './rooms-list.js';
import { fillSigninForm, offerRoom, signinFocus } from './signin-form.js';
import { showWhoami } from './views.js';

const DEFAULT_ROOM = 'lobby';

// Bound once, as the page's DOM is static. A room's link enters it with the saved name (the router,
// by data-link); with no name saved yet it fills the form's room instead, and asks for a name.
$('rooms-list').addEventListener('click', (event) => {
  const link = event.target.closest('a[data-room]');
  if (link === null || savedUsername() !== null) return;
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  event.stopPropagation();
  offerRoom(link.dataset.room);
});

export function createLanding({ room = DEFAULT_ROOM, failure = null } = {}) {
  const users = new Set();
  let total = 0;
  let next = null; // the cursor of the next page, null when there is none
  const channel = socket.channel('users:lobby', {});
  const presence = new Presence(channel);
  const restarts = watchSessionRestarts(channel);
  let stopped = false;
  const roomsList = createRoomsList(channel, () => stopped);

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
  // A user an application signed in, renamed there.
  channel.on('user_renamed', ({ from, name }) => {
    if (typeof from !== 'string' || typeof name !== 'string' || !users.delete(from)) return;
    users.add(name);
    renderPeople();
  });
  // Past the server's PRESENCE_FULL_LIMIT online, the lobby sends a count (presence_summary) instead of everyone.
  let onlineCount = null;
  presence.onSync(() => {
    if (onlineCount === null) renderPeople();
  });
  channel.on('presence_summary', ({ count }) => {
    onlineCount = Number.isInteger(count) ? count : 0;
    renderPeople();
  });
  channel.on('presence_state', () => {
    onlineCount = null;
    renderPeople();
  });
  channel
    .join()
    .receive('ok', (response) => {
      addPage(response);
      renderPeople();
      roomsList.joined(response.rooms);
      restarts.caughtUp();
    })
    .receive('error', (response) => showNotice(`Could not load the rooms and people: ${describeError(response)}`));

  function renderPeople() {
    // The people list is shared page furniture: a landing already left must not redraw it.
    if (stopped) return;
    const online = new Set(onlineCount === null ? presence.list((name) => name) : []);
    const names = [...new Set([...users, ...online])].sort(
      (a, b) => Number(online.has(b)) - Number(online.has(a)) || a.localeCompare(b, undefined, { sensitivity: 'base' }),
    );
    const me = savedUsername()?.toLowerCase();
    $('people-list').replaceChildren(...names.map((name) => personItem(name, online.has(name), name.toLowerCase() === me)));
    $('people-counts').textContent = `${(onlineCount ?? online.size).toLocaleString('en-US')} online · ${Math.max(total, names.length).toLocaleString('en-US')} total`;
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

  fillSigninForm(room, failure);
  showWhoami(SIGNED ? savedUsername() : null);
  if (SIGNED && signedProblem() !== null) showNotice(signedProblem(), { sticky: true });
  renderPeople();

  return {
    kind: 'landing',
    loadMore,
    shown: () => signinFocus(failure).focus(),
    stop: () => {
      if (stopped) return;
      stopped = true;
      roomsList.stop();
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
