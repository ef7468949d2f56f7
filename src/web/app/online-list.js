// Who is in the room: one line per user, with how many tabs they have it open in.

import { $, el } from './dom.js';

export function renderOnline(presence, me) {
  const people = presence
    .list((user, { metas }) => ({ user, tabs: metas.length }))
    .sort((a, b) => a.user.localeCompare(b.user, undefined, { sensitivity: 'base' }));
  $('online-list').replaceChildren(...people.map(({ user, tabs }) => onlineItem(user, tabs, user.toLowerCase() === me)));
  $('online-count').textContent = `(${people.length})`;
}

function onlineItem(user, tabs, isMe) {
  const item = el('li', { className: 'online-user' });
  item.append(el('span', { className: 'dot', attrs: { 'aria-hidden': 'true' } }), el('span', { className: 'name', text: user }));
  if (isMe) item.append(el('span', { className: 'you', text: '(you)' }));
  item.append(el('span', { className: 'tabs', text: tabs === 1 ? '1 tab' : `${tabs} tabs` }));
  return item;
}
