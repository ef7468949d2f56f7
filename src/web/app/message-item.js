// One message as the list shows it, built from index.html's template: every
// user-supplied string goes in as text.

import { $, el } from './dom.js';

export function messageItem(message, own) {
  const item = $('message-template').content.firstElementChild.cloneNode(true);
  item.dataset.id = String(message.id);
  item.querySelector('.author').textContent = message.user;
  showTime(item.querySelector('.time'), message.inserted_at);
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

/** A message's time in a <time>: short for today, with the date otherwise; nothing for a time that does not parse. */
export function showTime(time, insertedAt) {
  const date = new Date(insertedAt);
  if (Number.isNaN(date.getTime())) return;
  time.dateTime = date.toISOString();
  time.textContent = formatTime(date);
  time.title = date.toLocaleString();
}

const excerpt = (text) => ([...text].length > 40 ? `${[...text].slice(0, 40).join('')}…` : text);

function formatTime(date) {
  const time = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (date.toDateString() === new Date().toDateString()) return time;
  return `${date.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`;
}
