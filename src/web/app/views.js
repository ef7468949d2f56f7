// Views: exactly one controller (landing or room) is current; showing another stops it.

import { $ } from './dom.js';

let current = null;

export const currentView = () => current;

export function show(controller) {
  if (current !== null && current !== controller) current.stop();
  current = controller;
  $('landing').hidden = controller.kind !== 'landing';
  $('room-view').hidden = controller.kind !== 'room';
  controller.shown();
}

/** The top bar's "signed in as": page furniture that both views set. */
export function showWhoami(name) {
  const whoami = $('whoami');
  whoami.hidden = name === null;
  whoami.textContent = name === null ? '' : `signed in as ${name}`;
}
