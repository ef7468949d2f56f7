// A room's search: the query goes to the server (`search`), the hits come back
// newest first into the results panel, 50 at a time ("More results" pages back
// with before_id). A hit is a button: the room opens it in its context.

import { $, el } from './dom.js';
import { describeError } from './errors.js';
import { showTime } from './message-item.js';
import { markTerms } from './search-terms.js';

// The server's page size: a shorter page means there are no more hits.
const PAGE_LIMIT = 50;

const isHit = (m) => m !== null && typeof m === 'object' && Number.isInteger(m.id) && typeof m.user === 'string' && typeof m.body === 'string';

/** `whileOpen` guards every reply of a room that may be left meanwhile. */
export function createSearch(channel, whileOpen) {
  let query = '';
  let hits = [];
  let exhausted = true;
  let opened = null; // the hit shown in its context
  // A reply to an older search (or page) than the latest is dropped.
  let generation = 0;

  function run(q, beforeId) {
    const asked = ++generation;
    const payload = beforeId === undefined ? { q } : { q, before_id: beforeId };
    render(beforeId === undefined ? 'Searching…' : 'Loading more…', true);
    channel
      .push('search', payload)
      .receive(
        'ok',
        whileOpen(({ messages }) => {
          if (asked !== generation) return;
          const page = Array.isArray(messages) ? messages.filter(isHit) : [];
          hits = beforeId === undefined ? page : [...hits, ...page];
          exhausted = page.length < PAGE_LIMIT;
          render();
        }),
      )
      .receive('error', whileOpen((response) => asked === generation && render(describeError(response, 'Search: '))))
      .receive('timeout', whileOpen(() => asked === generation && render(describeError({ reason: 'timeout' }))));
  }

  function render(state, busy = false) {
    $('search-panel').hidden = false;
    $('search-title').textContent = hits.length === 0 && state !== undefined ? 'Search' : resultsTitle(hits.length, exhausted, query);
    $('search-state').textContent = state ?? (hits.length === 0 ? `No messages match “${query}”.` : '');
    $('search-results').replaceChildren(...hits.map((hit) => hitItem(hit, query, opened)));
    $('search-more').hidden = busy || exhausted || hits.length === 0;
  }

  return {
    /** A new search; an empty query does nothing (the server would refuse it). */
    search(q) {
      const trimmed = q.trim();
      if (trimmed === '') return;
      query = trimmed;
      hits = [];
      exhausted = true;
      run(trimmed);
    },
    more() {
      const last = hits.at(-1);
      if (!exhausted && last !== undefined) run(query, last.id);
    },
    /** A message deleted meanwhile leaves the results too. */
    remove(id) {
      if (!hits.some((hit) => hit.id === id)) return;
      hits = hits.filter((hit) => hit.id !== id);
      if (!$('search-panel').hidden) render();
    },
    /** Marks the hit shown in its context (null: none). */
    current(id) {
      opened = id;
      for (const button of $('search-results').querySelectorAll('button[data-hit]')) markOpened(button, opened);
    },
    /** Out of the way, results kept (a phone showing a hit's context). */
    hide() {
      $('search-panel').hidden = true;
    },
    /** Whether hidden results wait to be shown again. */
    waiting() {
      return $('search-panel').hidden && query !== '';
    },
    show() {
      if (query !== '') render();
    },
    close() {
      query = '';
      generation += 1;
      hits = [];
      $('search-panel').hidden = true;
      $('search-results').replaceChildren();
      $('search-state').textContent = '';
    },
  };
}

const resultsTitle = (count, exhausted, query) =>
  `${count}${exhausted ? '' : '+'} ${count === 1 ? 'result' : 'results'} for “${query}”`;

function markOpened(button, opened) {
  if (button.dataset.hit === String(opened)) button.setAttribute('aria-current', 'true');
  else button.removeAttribute('aria-current');
}

function hitItem(hit, query, opened) {
  const item = $('hit-template').content.firstElementChild.cloneNode(true);
  const button = item.querySelector('button');
  button.dataset.hit = String(hit.id);
  markOpened(button, opened);
  item.querySelector('.author').textContent = hit.user;
  showTime(item.querySelector('.time'), hit.inserted_at);
  const body = item.querySelector('.body');
  for (const part of markTerms(hit.body, query)) body.append(part.match ? el('mark', { text: part.text }) : document.createTextNode(part.text));
  return item;
}
