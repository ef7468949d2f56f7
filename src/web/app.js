// The browser client: one page, two views (landing, room), the stock phoenix.js
// underneath, as ES modules in app/ (no build step). Contract: README.md, "The
// chat over Phoenix Channels".
//
// Rules every module keeps:
// - User data (names, message bodies) only ever reaches the DOM through
//   textContent or attributes, never innerHTML: a message is text, not markup.
// - The server is authoritative: client-side checks only save a round trip,
//   and every error the server replies with is shown as it says.
// - Nothing lost or doubled across reconnects and session restarts (room.js,
//   message-list.js).
//
// This file wires the page: its DOM is static, so listeners are bound once and
// act on the current view.

import { onComposerInput } from './app/composer.js';
import { connect } from './app/connection.js';
import { $ } from './app/dom.js';
import { navigate, onSigninSubmit, render } from './app/router.js';
import { nearBottom, nearTop, offerJumpToLatest, scrollToBottom } from './app/scroll.js';
import { currentView } from './app/views.js';

const inRoom = () => (currentView()?.kind === 'room' ? currentView() : null);

function onMessagesScroll() {
  if (inRoom() === null) return;
  if (nearTop()) inRoom().loadOlder();
  if (nearBottom()) offerJumpToLatest(false);
}

function onMessageListClick(event) {
  const button = event.target.closest('button[data-delete]');
  if (button !== null) inRoom()?.deleteMessage(Number(button.dataset.delete), button);
}

function onSearchResultClick(event) {
  const hit = event.target.closest('button[data-hit]');
  if (hit !== null) inRoom()?.openHit(Number(hit.dataset.hit));
}

function onLinkClick(event) {
  const link = event.target.closest('a[data-link]');
  if (link === null || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(link.getAttribute('href'));
}

$('signin-form').addEventListener('submit', onSigninSubmit);
$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  inRoom()?.send();
});
$('message-input').addEventListener('input', onComposerInput);
$('message-input').addEventListener('input', () => inRoom()?.typing());
$('message-scroll').addEventListener('scroll', onMessagesScroll, { passive: true });
$('message-list').addEventListener('click', onMessageListClick);
$('context-list').addEventListener('click', onMessageListClick);
$('search-form').addEventListener('submit', (event) => {
  event.preventDefault();
  inRoom()?.search($('search-input').value);
});
$('search-results').addEventListener('click', onSearchResultClick);
$('search-more').addEventListener('click', () => inRoom()?.moreResults());
$('search-close').addEventListener('click', () => inRoom()?.closeSearch());
$('back-to-latest').addEventListener('click', () => inRoom()?.backToLatest());
$('back-to-results').addEventListener('click', () => inRoom()?.showResults());
$('load-older').addEventListener('click', () => inRoom()?.loadOlder());
$('jump-latest').addEventListener('click', scrollToBottom);
$('leave').addEventListener('click', () => navigate('/'));
$('people-more').addEventListener('click', () => currentView()?.kind === 'landing' && currentView().loadMore());
document.addEventListener('click', onLinkClick);
window.addEventListener('popstate', render);
connect();
render();
