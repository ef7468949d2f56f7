// Who is in the room: one line per user, with how many tabs they have it open in.
// A large room sends no list (presence_summary instead): then how many are
// online, and who spoke there lately.

import { $, el } from './dom.js';

export function renderOnline(presence, me) {
  const people = presence
    .list((user, { metas }) => ({ user, tabs: metas.length }))
    .sort((a, b) => a.user.localeCompare(b.user, undefined, { sensitivity: 'base' }));
  $('online-list').replaceChildren(...people.map(({ user, tabs }) => onlineItem(user, tabs, user.toLowerCase() === me)));
  $('online-count').textContent = `(${people.length})`;
  showSummary(false);
}

/** A `presence_summary` payload, `{ count, recent }`; anything else in it is ignored. */
export function renderSummary(summary, me) {
  const count = Number.isSafeInteger(summary?.count) ? summary.count : 0;
  const recent = Array.isArray(summary?.recent) ? summary.recent.filter((user) => typeof user === 'string') : [];
  $('online-count').textContent = `(${count.toLocaleString('en-US')})`;
  $('recent-list').replaceChildren(...recent.map((user) => onlineItem(user, undefined, user.toLowerCase() === me)));
  showSummary(true);
}

/** A room's view starts empty: the elements are shared by every room. */
export function clearOnline() {
  $('online-list').replaceChildren();
  $('recent-list').replaceChildren();
  $('online-count').textContent = '';
  showSummary(false);
}

function showSummary(large) {
  $('online-list').hidden = large;
  $('recent-title').hidden = !large;
  $('recent-list').hidden = !large;
}

/** `tabs` undefined: a recent speaker, whose tabs a summary does not tell. */
function onlineItem(user, tabs, isMe) {
  const item = el('li', { className: 'online-user' });
  item.append(el('span', { className: 'dot', attrs: { 'aria-hidden': 'true' } }), el('span', { className: 'name', text: user }));
  if (isMe) item.append(el('span', { className: 'you', text: '(you)' }));
  if (tabs !== undefined) item.append(el('span', { className: 'tabs', text: tabs === 1 ? '1 tab' : `${tabs} tabs` }));
  return item;
}
