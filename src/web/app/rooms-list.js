// The landing page's rooms directory (README, users:lobby): the lobby join's
// `rooms`, kept live by `rooms_diff` (room -> { online, last_active_at }, or
// null when it is no longer listed). Diffs that come before a join's reply
// are held and applied on top of it: they carry values, so a repeat is harmless.

import { $, el } from './dom.js';

const ROOM_NAME = /^[a-z0-9_-]{1,32}$/;
// "active 3 min ago" goes stale by itself: redrawn this often.
const REFRESH_MS = 30_000;

/** A room from the wire, or null when it is not one. */
function parseRoom(value) {
  if (value === null || typeof value !== 'object' || !Number.isSafeInteger(value.online) || value.online < 0) return null;
  const at = typeof value.last_active_at === 'string' ? Date.parse(value.last_active_at) : NaN;
  return { online: value.online, lastActiveAt: Number.isFinite(at) ? at : null };
}

/** The server's order: most online, then most recently active, then by name. */
function compareRooms([nameA, a], [nameB, b]) {
  return b.online - a.online || (b.lastActiveAt ?? -1) - (a.lastActiveAt ?? -1) || (nameA < nameB ? -1 : nameA > nameB ? 1 : 0);
}

/** "active just now", "active 3 min ago", "active 5 h ago", "active 2 days ago"; older: the date. */
export function activeText(at, now = Date.now()) {
  if (at === null) return 'no messages yet';
  const minutes = Math.floor(Math.max(0, now - at) / 60_000);
  if (minutes < 1) return 'active just now';
  if (minutes < 60) return `active ${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `active ${hours} h ago`;
  const days = Math.floor(hours / 24);
  if (days < 7) return days === 1 ? 'active yesterday' : `active ${days} days ago`;
  return `active ${new Date(at).toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' })}`;
}

/**
 * Draws into #rooms-list for as long as the landing shows. `isStopped`: the
 * elements are shared page furniture, which a landing already left must not touch.
 */
export function createRoomsList(channel, isStopped) {
  const rooms = new Map();
  // Diffs waiting for the join reply; null once it came.
  let held = [];

  const apply = (changes) => {
    if (changes === null || typeof changes !== 'object') return;
    for (const [name, value] of Object.entries(changes)) {
      if (!ROOM_NAME.test(name)) continue;
      const room = parseRoom(value);
      if (room === null) rooms.delete(name);
      else rooms.set(name, room);
    }
  };

  channel.on('rooms_diff', (payload) => {
    if (held !== null) {
      held.push(payload?.rooms);
      return;
    }
    apply(payload?.rooms);
    render();
  });
  // Until the rejoin's reply, what comes is held again: the reply replaces the list.
  channel.onError(() => {
    held ??= [];
  });

  function render() {
    if (isStopped()) return;
    const now = Date.now();
    const sorted = [...rooms].sort(compareRooms);
    $('rooms-list').replaceChildren(...sorted.map(([name, room]) => roomItem(name, room, now)));
    $('rooms-empty').hidden = sorted.length > 0 || held !== null;
  }

  const timer = setInterval(render, REFRESH_MS);

  return {
    /** The join's (or a rejoin's) `rooms`: the list starts over from it. */
    joined(list) {
      rooms.clear();
      for (const item of Array.isArray(list) ? list : []) {
        if (typeof item?.name === 'string' && ROOM_NAME.test(item.name)) {
          const room = parseRoom(item);
          if (room !== null) rooms.set(item.name, room);
        }
      }
      for (const changes of held ?? []) apply(changes);
      held = null;
      render();
    },
    render,
    stop: () => clearInterval(timer),
  };
}

function roomItem(name, room, now) {
  const link = el('a', {
    className: `room-link ${room.online > 0 ? 'is-online' : 'is-offline'}`,
    // The title: the whole name, where a long one is cut short with an ellipsis.
    attrs: { href: `/rooms/${encodeURIComponent(name)}`, 'data-link': '', 'data-room': name, title: `#${name}` },
  });
  const online = el('span', { className: 'room-online' });
  online.append(el('span', { className: 'dot', attrs: { 'aria-hidden': 'true' } }), document.createTextNode(`${room.online.toLocaleString('en-US')} online`));
  const active = el('time', { className: 'room-active', text: activeText(room.lastActiveAt, now) });
  if (room.lastActiveAt !== null) active.dateTime = new Date(room.lastActiveAt).toISOString();
  link.append(el('span', { className: 'room-name', text: `#${name}` }), online, active);
  const item = el('li', { className: 'room-item' });
  item.append(link);
  return item;
}
